using Funnels.Runtime.Extensions;
using Funnels.Runtime.WiringChecks;
using Funnels.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();

app.MapDefaultEndpoints();
app.UseAuthentication();
app.UseAuthorization();

app.MapWiringChecksApi();

app.Run();
