using Funnels.AppHost.Hosting;

namespace Funnels.AppHost;

/// <summary>What the topology hands back to whoever started it (Program prints it; tests sign in with it).</summary>
public sealed record FunnelsResources(string AdminEmail, ParameterResource AdminPassword);

/// <summary>
/// The whole Funnels topology, declared once: AppHost's Program runs it, and the AppHost tests
/// start exactly the same thing (as Aspire.Hosting.Testing would). Resource names are the
/// contract with the services: ConnectionStrings__&lt;name&gt; and services__&lt;name&gt;__http__0.
/// </summary>
public static class FunnelsTopology
{
    public const string AdminEmail = "admin@funnels.local";

    /// <param name="messagingWorkers">Messaging.Worker instances: the first is <c>messaging-worker</c>, the
    /// others <c>messaging-worker-2</c>, … on ports of their own (the benchmark drains bursts with two).</param>
    public static FunnelsResources AddFunnels(this DistributedApplicationBuilder builder, int messagingWorkers = 1)
    {
        // Secrets generated on the first run and kept in <DataRoot>/secrets.json (or set
        // Parameters__<name>): the key every service checks admin bearer tokens with, and the
        // first admin's password, which Runtime.Api seeds on its first start.
        var signingKey = builder.AddParameter("auth-signing-key", secret: true);
        var adminPassword = builder.AddParameter("admin-password", secret: true);
        // Admin.Web signs the browser's address with it, so Runtime.Api limits sign-ins per person (ClientAddress).
        var clientAddressKey = builder.AddParameter("auth-client-address-key", secret: true);
        builder.WithEnvironment("Auth__SigningKey", signingKey);
        // The key Runtime.Api and Messaging.Worker encrypt WhatsApp channels' access tokens with
        // (AES-256-GCM): 32 bytes, base64, derived from the generated secret (SHA-256 of it).
        var encryptionKey = builder.AddParameter("secrets-encryption-key", secret: true);
        builder.WithEnvironment("Secrets__EncryptionKey", encryptionKey, EncryptionKeyOf);

        // Backing servers, each a local process on its own folder and loopback port.
        var postgres = builder.AddPostgres("postgres");
        var rabbitmq = builder.AddRabbitMQ("rabbitmq");
        var redis = builder.AddRedis("redis");

        // Each service's connection pool is capped (Postgres__MaxPoolSize) so that together, with a
        // second worker instance, they stay under the server's max_connections of 400:
        // 100 + 60 + 2 x 80 = 320, leaving room for health checks, psql and migrations.

        // Runtime API: public funnel events, leads, funnels, WhatsApp webhook ingress.
        var runtimeApi = builder.AddProject("runtime-api", "Runtime.Api")
            .WithHttpEndpoint(port: DefaultPorts.RuntimeApi)
            .WithEnvironment("Postgres__MaxPoolSize", "100")
            .WithReference(postgres).WaitFor(postgres)
            .WithReference(rabbitmq).WaitFor(rabbitmq)
            .WithReference(redis).WaitFor(redis)
            .WithEnvironment("Bootstrap__Admin__Email", AdminEmail)
            .WithEnvironment("Bootstrap__Admin__Password", adminPassword)
            .WithEnvironment("Auth__ClientAddressKey", clientAddressKey);

        // Tracking API: t.js, sessions, CRM webhook, impressions, conversions, statistics.
        var trackingApi = builder.AddProject("tracking-api", "Tracking.Api")
            .WithHttpEndpoint(port: DefaultPorts.TrackingApi)
            .WithEnvironment("Postgres__MaxPoolSize", "60")
            .WithReference(postgres).WaitFor(postgres)
            .WithReference(rabbitmq).WaitFor(rabbitmq)
            .WithReference(redis).WaitFor(redis);

        // Messaging worker: triggers, flows, scheduled steps, outbound webhooks, payouts.
        ResourceBuilder<ProjectResource> AddMessagingWorker(string name, int? port) => builder.AddProject(name, "Messaging.Worker")
            .WithHttpEndpoint(port)
            .WithEnvironment("Postgres__MaxPoolSize", "80")
            .WithReference(postgres).WaitFor(postgres)
            .WithReference(rabbitmq).WaitFor(rabbitmq)
            .WithReference(redis).WaitFor(redis);
        var messagingWorker = AddMessagingWorker("messaging-worker", DefaultPorts.MessagingWorker);
        for (var instance = 2; instance <= messagingWorkers; instance++)
        {
            AddMessagingWorker($"messaging-worker-{instance}", port: null);
        }

        // Admin panel: reads and writes through the APIs, so it starts once they are healthy.
        builder.AddProject("admin-web", "Admin.Web")
            .WithHttpEndpoint(port: DefaultPorts.AdminWeb)
            .WithEnvironment("Auth__ClientAddressKey", clientAddressKey)
            .WithReference(runtimeApi).WaitFor(runtimeApi)
            .WithReference(trackingApi).WaitFor(trackingApi)
            .WithReference(messagingWorker).WaitFor(messagingWorker);

        return new FunnelsResources(AdminEmail, adminPassword);
    }

    /// <summary>Secrets:EncryptionKey from the generated parameter: base64 of its SHA-256, 32 bytes.</summary>
    public static string EncryptionKeyOf(string secret) =>
        Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(secret)));
}
