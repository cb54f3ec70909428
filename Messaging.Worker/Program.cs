using Funnels.Messaging.DeadLetters;
using Funnels.Messaging.Commissions;
using Funnels.Messaging.Extensions;
using Funnels.Messaging.Flows;
using Funnels.Messaging.Runs;
using Funnels.Messaging.Webhooks;
using Funnels.Messaging.WhatsApp;
using Funnels.Messaging.WiringChecks;
using Funnels.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();

app.MapDefaultEndpoints();
app.UseAuthentication();
app.UseAuthorization();

app.MapWebhooksApi();
app.MapWiringChecksApi();
app.MapFlowsApi();
app.MapFlowTestSendApi();
app.MapRunsApi();
app.MapDeadLettersApi();
app.MapChannelSendingApi();
app.MapCommissionsApi();
app.MapCampaignBudgetApi();

app.Run();
