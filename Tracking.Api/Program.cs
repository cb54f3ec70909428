using Funnels.ServiceDefaults;
using Funnels.Tracking.Campaigns;
using Funnels.Tracking.Collect;
using Funnels.Tracking.Extensions;
using Funnels.Tracking.Linking;
using Funnels.Tracking.Script;
using Funnels.Tracking.Settings;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();

app.MapDefaultEndpoints();
app.UseCors();
app.UseAuthentication();
app.UseAuthorization();

app.MapScriptApi();
app.MapCollectApi();
app.MapIdentifyApi();
app.MapCrmWebhookApi();
app.MapLinkingApi();
app.MapSettingsApi();
app.MapCrmSettingsApi();
app.MapCampaignsApi();
app.MapAttributionApi();
app.MapAttributionReadsApi();
app.MapCampaignStatsApi();

app.Run();
