#pragma warning disable ASPIRECERTIFICATES001 // WithoutHttpsCertificate: the services listen on plain http on loopback
using Funnels.AppHost;
using Funnels.AppHost.Servers;
using Microsoft.Extensions.Configuration;

// Starts everything locally under .NET Aspire: three servers, then the four services.
// Ports: LocalPorts (Funnels__Ports__<Key>); data: <repository>/.data (Funnels__DataRoot);
// secrets: generated parameters kept in this project's user secrets (docs/configuration.md).
var builder = DistributedApplication.CreateBuilder(args);

var ports = new LocalPorts(builder.Configuration);

// What the machine lacks (a server's package, a free fixed port) is one `error:` line each,
// before anything starts (LocalMachine says why).
if (LocalMachine.Problems(builder, ports) is [_, ..] problems)
{
    problems.ForEach(problem => Console.Error.WriteLine($"error: {problem}"));
    Environment.ExitCode = 1;
    return;
}

// Secrets every service shares: the key admin bearer tokens are signed with, the key that
// Admin.Web signs the browser's address with (per-person sign-in limits), and the AES-256 key
// WhatsApp channels' access tokens and CRM adapters' secrets are encrypted with at rest. The first admin's password
// is seeded by Runtime.Api on its first start.
var signingKey = builder.AddGeneratedSecret("auth-signing-key");
var clientAddressKey = builder.AddGeneratedSecret("auth-client-address-key");
var encryptionKey = builder.AddGeneratedKey("secrets-encryption-key");
var adminPassword = builder.AddGeneratedSecret("admin-password");
const string adminEmail = "admin@funnels.local";

// The servers: local processes from Debian's packages, or Aspire's containers (Funnels:Servers).
var (database, rabbitmq, redis) = builder.AddFunnelsServers(ports);

// Servers only (Funnels:Topology=servers): what the in-process tests run their hosts against.
if (builder.Configuration["Funnels:Topology"] == "servers")
{
    var servers = builder.Build();
    ParentProcess.StopWhenDotnetRunEnds(servers);
    servers.Run();
    return;
}

// Each service's connection pool is capped (Postgres__MaxPoolSize) so that together, with a
// second worker instance, they stay under the server's max_connections of 400:
// 100 + 60 + 2 x 80 = 320, leaving room for health checks, psql and migrations.

// Runtime API: public funnel events, leads, funnels, WhatsApp webhook ingress.
var runtimeApi = builder.AddFunnelsService<Projects.Runtime_Api>("runtime-api", ports.RuntimeApi)
    .WithEnvironment("Postgres__MaxPoolSize", "100")
    .WithReference(database).WaitFor(database)
    .WithReference(rabbitmq).WaitFor(rabbitmq)
    .WithReference(redis).WaitFor(redis)
    .WithEnvironment("Auth__SigningKey", signingKey)
    .WithEnvironment("Auth__ClientAddressKey", clientAddressKey)
    .WithEnvironment("Secrets__EncryptionKey", encryptionKey)
    .WithEnvironment("Bootstrap__Admin__Email", adminEmail)
    .WithEnvironment("Bootstrap__Admin__Password", adminPassword);

// Tracking API: t.js, sessions, CRM webhook, impressions, conversions, statistics.
var trackingApi = builder.AddFunnelsService<Projects.Tracking_Api>("tracking-api", ports.TrackingApi)
    .WithEnvironment("Postgres__MaxPoolSize", "60")
    .WithReference(database).WaitFor(database)
    .WithReference(rabbitmq).WaitFor(rabbitmq)
    .WithReference(redis).WaitFor(redis)
    .WithEnvironment("Auth__SigningKey", signingKey)
    .WithEnvironment("Secrets__EncryptionKey", encryptionKey);

// Messaging worker: triggers, flows, scheduled steps, outbound webhooks, payouts. The bench
// drains bursts with two (Funnels:MessagingWorkers=2): messaging-worker-2, … on ports of their own.
IResourceBuilder<ProjectResource> AddMessagingWorker(string name, int? port) =>
    builder.AddFunnelsService<Projects.Messaging_Worker>(name, port)
        .WithEnvironment("Postgres__MaxPoolSize", "80")
        .WithReference(database).WaitFor(database)
        .WithReference(rabbitmq).WaitFor(rabbitmq)
        .WithReference(redis).WaitFor(redis)
        .WithEnvironment("Auth__SigningKey", signingKey)
        .WithEnvironment("Secrets__EncryptionKey", encryptionKey);
var messagingWorker = AddMessagingWorker("messaging-worker", ports.MessagingWorker);
for (var instance = 2; instance <= builder.Configuration.GetValue("Funnels:MessagingWorkers", 1); instance++)
{
    AddMessagingWorker($"messaging-worker-{instance}", port: null);
}

// Admin panel: reads and writes through the APIs, so it starts once they are healthy.
builder.AddFunnelsService<Projects.Admin_Web>("admin-web", ports.AdminWeb)
    .WithEnvironment("Auth__SigningKey", signingKey)
    .WithEnvironment("Auth__ClientAddressKey", clientAddressKey)
    .WithReference(runtimeApi).WaitFor(runtimeApi)
    .WithReference(trackingApi).WaitFor(trackingApi)
    .WithReference(messagingWorker).WaitFor(messagingWorker);

if (builder.ExecutionContext.IsRunMode)
{
    Console.WriteLine($"Admin sign-in: {adminEmail}; the password is the admin-password parameter: "
    + "the dashboard's Parameters (show value), or `dotnet user-secrets list --project AppHost`.");
}
var app = builder.Build();
ParentProcess.StopWhenDotnetRunEnds(app);
app.Run();
