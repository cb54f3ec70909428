using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;

namespace Funnels.AppHost.Servers;

/// <summary>
/// RabbitMQ 3.10 from Debian's package as an Aspire executable, with the same kind of
/// connection string as Aspire's <c>AddRabbitMQ</c> container (a user and a password parameter).
/// </summary>
public sealed class LocalRabbitMQResource(string name, ParameterResource password, string folder)
    : ExecutableResource(name, "/bin/sh", folder), IResourceWithConnectionString
{
    public const string UserName = "funnels";

    public EndpointReference PrimaryEndpoint => new(this, "tcp");

    /// <summary>The Erlang distribution port (rabbitmqctl talks to the node on it).</summary>
    public EndpointReference DistributionEndpoint => new(this, "dist");

    public ParameterResource PasswordParameter { get; } = password;

    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create(
        $"amqp://{UserName}:{PasswordParameter}@{PrimaryEndpoint.Property(EndpointProperty.IPV4Host)}:{PrimaryEndpoint.Property(EndpointProperty.Port)}");
}

/// <summary>
/// The Erlang port mapper the broker registers with, as a resource of its own: started by
/// rabbitmq-server it would daemonize and outlive AppHost; started by DCP it stops with it.
/// </summary>
public sealed class LocalEpmdResource(string name, string command, string folder) : ExecutableResource(name, command, folder)
{
    public EndpointReference PrimaryEndpoint => new(this, "tcp");
}

public static class LocalRabbitMQExtensions
{
    public static IResourceBuilder<LocalRabbitMQResource> AddLocalRabbitMQ(
        this IDistributedApplicationBuilder builder, string name, string folder, LocalPorts ports, ServerBinaries binaries)
    {
        var epmd = builder.AddResource(new LocalEpmdResource($"{name}-epmd", binaries.Epmd, ServerFolders.Create(folder)))
            .WithEndpoint(name: "tcp", scheme: "tcp", port: ports.RabbitMQEpmd, targetPort: ports.RabbitMQEpmd, isProxied: false)
            .WithArgs(context =>
            {
                var endpoint = ((LocalEpmdResource)context.Resource).PrimaryEndpoint;
                context.Args.Add("-address");
                context.Args.Add("127.0.0.1");
                context.Args.Add("-port");
                context.Args.Add(endpoint.Property(EndpointProperty.TargetPort));
            })
            .WithIconName("PlugConnected");

        var password = ParameterResourceBuilderExtensions.CreateDefaultPasswordParameter(builder, $"{name}-password", special: false);
        builder.AddResource(password);
        var broker = new LocalRabbitMQResource(name, password, ServerFolders.Create(folder));

        var healthCheck = $"{name}_check";
        builder.Services.AddHealthChecks().AddAsyncCheck(healthCheck, ct => ServerHealth.RabbitMQAsync(broker, ct));

        return builder.AddResource(broker)
            .WithEndpoint(name: "tcp", scheme: "tcp", port: ports.RabbitMQ, targetPort: ports.RabbitMQ, isProxied: false)
            .WithEndpoint(name: "dist", scheme: "tcp", port: ports.RabbitMQDistribution, targetPort: ports.RabbitMQDistribution, isProxied: false)
            .WithArgs(context =>
            {
                context.Args.Add(Path.Combine(AppContext.BaseDirectory, "Servers", "rabbitmq.sh"));
                context.Args.Add(binaries.RabbitMQServer);
                context.Args.Add(broker.WorkingDirectory);
                context.Args.Add(broker.PrimaryEndpoint.Property(EndpointProperty.TargetPort));
                context.Args.Add(broker.DistributionEndpoint.Property(EndpointProperty.TargetPort));
                context.Args.Add(epmd.Resource.PrimaryEndpoint.Property(EndpointProperty.TargetPort));
            })
            .WithEnvironment("RABBITMQ_PASSWORD", password)
            .WithIconName("Mailbox")
            .WaitFor(epmd)
            .WithHealthCheck(healthCheck);
    }
}
