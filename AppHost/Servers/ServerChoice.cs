using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.Configuration;

namespace Funnels.AppHost.Servers;

/// <summary>The three servers the services reference, by the names that are their connection strings.</summary>
public sealed record FunnelsServers(
    IResourceBuilder<IResourceWithConnectionString> Database,
    IResourceBuilder<IResourceWithConnectionString> RabbitMQ,
    IResourceBuilder<IResourceWithConnectionString> Redis);

public static class ServerChoice
{
    /// <summary>
    /// Funnels:Servers=executables (the default): PostgreSQL, RabbitMQ and Redis from Debian's
    /// packages as local processes, no container runtime needed. Funnels:Servers=containers:
    /// Aspire's own container resources under the same names, for a machine with Docker or Podman.
    /// Funnels:Servers=external: servers that run elsewhere, from ConnectionStrings:funnels,
    /// :rabbitmq and :redis (more machines sharing one database and broker; the fault tests).
    /// </summary>
    /// <summary>The servers missing from this machine, one line each naming its Debian package (none unless Funnels:Servers=executables).</summary>
    public static IReadOnlyList<string> MissingBinaries(IConfiguration configuration) =>
        (configuration["Funnels:Servers"] ?? "executables") == "executables" ? ServerBinaries.From(configuration).Missing().ToList() : [];

    public static FunnelsServers AddFunnelsServers(this IDistributedApplicationBuilder builder, LocalPorts ports)
    {
        var mode = builder.Configuration["Funnels:Servers"] ?? "executables";
        if (mode == "containers")
        {
            // The same major versions as the Debian packages the product is tested on.
            var postgres = builder.AddPostgres("postgres", port: ports.Postgres).WithImageTag("15").WithDataVolume();
            return new FunnelsServers(
                postgres.AddDatabase("funnels"),
                builder.AddRabbitMQ("rabbitmq", port: ports.RabbitMQ).WithImageTag("3.10").WithDataVolume(),
                builder.AddRedis("redis", port: ports.Redis).WithImageTag("7"));
        }
        if (mode == "external")
        {
            return new FunnelsServers(
                builder.AddConnectionString("funnels"), builder.AddConnectionString("rabbitmq"), builder.AddConnectionString("redis"));
        }
        if (mode != "executables")
        {
            throw new InvalidOperationException($"Funnels:Servers is '{mode}': use executables (the default), containers or external.");
        }

        var dataRoot = builder.Configuration["Funnels:DataRoot"] is { Length: > 0 } root
            ? Path.GetFullPath(root)
            : Path.GetFullPath(Path.Combine(builder.AppHostDirectory, "..", ".data"));
        var binaries = ServerBinaries.From(builder.Configuration);
        var local = builder.AddLocalPostgres("postgres", Path.Combine(dataRoot, "postgres"), ports.Postgres, binaries);
        return new FunnelsServers(
            local.AddDatabase("funnels"),
            builder.AddLocalRabbitMQ("rabbitmq", Path.Combine(dataRoot, "rabbitmq"), ports, binaries),
            builder.AddLocalRedis("redis", Path.Combine(dataRoot, "redis"), ports.Redis, binaries));
    }
}
