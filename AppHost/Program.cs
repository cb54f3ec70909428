using Funnels.AppHost.Hosting;

// The whole Funnels topology, started locally: three servers, then the four services.
// Resource names are the contract with the services: ConnectionStrings__<name> and
// services__<name>__http__0. Ports: DefaultPorts (override with Funnels__Ports__<name>);
// data, secrets and logs: <repo>/.data (override with --data-root or Funnels__DataRoot).
try
{
    const string AdminEmail = "admin@funnels.local";
    var builder = DistributedApplication.CreateBuilder(args);

    // Secrets generated on the first run and kept in <DataRoot>/secrets.json (or set
    // Parameters__<name>): the key every service checks admin bearer tokens with, and the
    // first admin's password, which Runtime.Api seeds on its first start.
    var signingKey = builder.AddParameter("auth-signing-key", secret: true);
    var adminPassword = builder.AddParameter("admin-password", secret: true);
    builder.WithEnvironment("Auth__SigningKey", signingKey);

    // Backing servers, each a local process on its own folder and loopback port.
    var postgres = builder.AddPostgres("postgres");
    var rabbitmq = builder.AddRabbitMQ("rabbitmq");
    var redis = builder.AddRedis("redis");

    // Runtime API: public funnel events, leads, funnels, WhatsApp webhook ingress.
    var runtimeApi = builder.AddProject("runtime-api", "Runtime.Api")
        .WithHttpEndpoint(port: DefaultPorts.RuntimeApi)
        .WithReference(postgres).WaitFor(postgres)
        .WithReference(rabbitmq).WaitFor(rabbitmq)
        .WithReference(redis).WaitFor(redis)
        .WithEnvironment("Bootstrap__Admin__Email", AdminEmail)
        .WithEnvironment("Bootstrap__Admin__Password", adminPassword);

    // Tracking API: t.js, sessions, CRM webhook, impressions, conversions, statistics.
    var trackingApi = builder.AddProject("tracking-api", "Tracking.Api")
        .WithHttpEndpoint(port: DefaultPorts.TrackingApi)
        .WithReference(postgres).WaitFor(postgres)
        .WithReference(rabbitmq).WaitFor(rabbitmq)
        .WithReference(redis).WaitFor(redis);

    // Messaging worker: triggers, flows, scheduled steps, outbound webhooks, payouts.
    var messagingWorker = builder.AddProject("messaging-worker", "Messaging.Worker")
        .WithHttpEndpoint(port: DefaultPorts.MessagingWorker)
        .WithReference(postgres).WaitFor(postgres)
        .WithReference(rabbitmq).WaitFor(rabbitmq)
        .WithReference(redis).WaitFor(redis);

    // Admin panel: reads and writes through the APIs, so it starts once they are healthy.
    builder.AddProject("admin-web", "Admin.Web")
        .WithHttpEndpoint(port: DefaultPorts.AdminWeb)
        .WithReference(runtimeApi).WaitFor(runtimeApi)
        .WithReference(trackingApi).WaitFor(trackingApi)
        .WithReference(messagingWorker).WaitFor(messagingWorker);

    await using var app = builder.Build();
    Console.WriteLine($"Admin sign-in: {AdminEmail}, password \"admin-password\" in {Path.Combine(app.DataRoot, "secrets.json")}");
    await app.RunAsync();
    return 0;
}
catch (Exception e) when (e is SetupException or ResourceStartException)
{
    // The machine needs fixing, not the code: one clear line (plus the log tail if a server crashed).
    Console.Error.WriteLine($"error: {e.Message}");
    return 1;
}
