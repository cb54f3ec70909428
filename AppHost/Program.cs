using Funnels.AppHost;
using Funnels.AppHost.Hosting;

// Starts everything locally: three servers, then the four services (FunnelsTopology).
// Ports: DefaultPorts (override with Funnels__Ports__<name>); data, secrets and logs:
// <repo>/.data (override with --data-root or Funnels__DataRoot).
try
{
    var builder = DistributedApplication.CreateBuilder(args);
    var funnels = builder.AddFunnels();

    await using var app = builder.Build();
    Console.WriteLine($"Admin sign-in: {funnels.AdminEmail}, password \"admin-password\" in {Path.Combine(app.DataRoot, "secrets.json")}");
    await app.RunAsync();
    return 0;
}
catch (Exception e) when (e is SetupException or ResourceStartException)
{
    // The machine needs fixing, not the code: one clear line (plus the log tail if a server crashed).
    Console.Error.WriteLine($"error: {e.Message}");
    return 1;
}
