using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;

namespace Funnels.AppHost.Servers;

/// <summary>
/// Redis 7 from Debian's package as an Aspire executable, password-protected like Aspire's
/// <c>AddRedis</c> container. No persistence: it holds rate limits, caches and dedupe windows,
/// never the only copy of anything, so a restart may forget.
/// </summary>
public sealed class LocalRedisResource(string name, ParameterResource password, string folder)
    : ExecutableResource(name, "/bin/sh", folder), IResourceWithConnectionString
{
    public EndpointReference PrimaryEndpoint => new(this, "tcp");

    public ParameterResource PasswordParameter { get; } = password;

    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create(
        $"{PrimaryEndpoint.Property(EndpointProperty.IPV4Host)}:{PrimaryEndpoint.Property(EndpointProperty.Port)},password={PasswordParameter}");
}

public static class LocalRedisExtensions
{
    public static IResourceBuilder<LocalRedisResource> AddLocalRedis(
        this IDistributedApplicationBuilder builder, string name, string folder, int? port, ServerBinaries binaries)
    {
        var password = ParameterResourceBuilderExtensions.CreateDefaultPasswordParameter(builder, $"{name}-password", special: false);
        builder.AddResource(password);
        var redis = new LocalRedisResource(name, password, ServerFolders.Create(folder));

        var healthCheck = $"{name}_check";
        builder.Services.AddHealthChecks().AddAsyncCheck(healthCheck, ct => ServerHealth.RedisAsync(redis, ct));

        return builder.AddResource(redis)
            .WithEndpoint(name: "tcp", scheme: "tcp", port: port, targetPort: port, isProxied: false)
            .WithArgs(context =>
            {
                context.Args.Add(Path.Combine(AppContext.BaseDirectory, "Servers", "redis.sh"));
                context.Args.Add(binaries.RedisServer);
                context.Args.Add(redis.WorkingDirectory);
                context.Args.Add(redis.PrimaryEndpoint.Property(EndpointProperty.TargetPort));
            })
            .WithEnvironment("REDIS_PASSWORD", password)
            .WithIconName("Memory")
            .WithHealthCheck(healthCheck);
    }
}
