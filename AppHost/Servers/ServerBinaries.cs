using Microsoft.Extensions.Configuration;

namespace Funnels.AppHost.Servers;

/// <summary>
/// Where Debian's packages put the servers (movable with Funnels:Binaries:*), and what to
/// install when one is missing: AppHost/prerequisites.sh installs all of them.
/// </summary>
public sealed record ServerBinaries(string PostgresBin, string RabbitMQServer, string Epmd, string RedisServer)
{
    public static ServerBinaries From(IConfiguration configuration)
    {
        var section = configuration.GetSection("Funnels:Binaries");
        return new ServerBinaries(
            section["PostgresBin"] ?? "/usr/lib/postgresql/15/bin",
            section["RabbitMQServer"] ?? "/usr/lib/rabbitmq/bin/rabbitmq-server",
            section["Epmd"] ?? "/usr/bin/epmd",
            section["RedisServer"] ?? "/usr/bin/redis-server");
    }

    /// <summary>One line per missing server, naming its Debian package.</summary>
    public IEnumerable<string> Missing()
    {
        if (!File.Exists(Path.Combine(PostgresBin, "postgres")) || !File.Exists(Path.Combine(PostgresBin, "initdb")))
        {
            yield return $"PostgreSQL 15 is not in {PostgresBin} (Debian package postgresql)";
        }
        if (!File.Exists(RabbitMQServer) || !File.Exists(Epmd))
        {
            yield return $"RabbitMQ is not at {RabbitMQServer} / {Epmd} (Debian package rabbitmq-server)";
        }
        if (!File.Exists(RedisServer))
        {
            yield return $"Redis is not at {RedisServer} (Debian package redis-server)";
        }
    }
}
