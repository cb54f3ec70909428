using Funnels.Runtime.Events;
using Funnels.Runtime.Extensions;
using Funnels.Runtime.Funnels;
using Funnels.Runtime.Leads;
using Funnels.Runtime.Stats;
using Funnels.Runtime.WhatsApp;
using Funnels.Runtime.WiringChecks;
using Funnels.Runtime.Workspaces;
using Funnels.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();

app.MapDefaultEndpoints();
app.UseCors();
app.UseAuthentication();
app.UseAuthorization();

app.MapEventsApi();
app.MapLeadsApi();
app.MapLeadStateApi();
app.MapFunnelsApi();
app.MapStatsApi();
app.MapAuthApi();
app.MapWorkspacesApi();
app.MapWiringChecksApi();
app.MapMetaWebhookApi();
app.MapWhatsAppChannelsApi();

app.Run();
