using System.Net.Sockets;
using System.Text;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Funnels.Tests.Infrastructure;
using Npgsql;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Funnels.AppHost.Tests;

/// <summary>The servers as the services will meet them: through the connection strings AppHost hands out.</summary>
public sealed class ServerTests(ServersFixture servers) : IClassFixture<ServersFixture>
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private DistributedApplication App => servers.App;

    private async Task<string> ConnectionStringAsync(string resource) =>
        await App.GetConnectionStringAsync(resource, Cancellation) ?? throw new InvalidOperationException($"{resource} has no connection string");

    [Fact]
    public async Task Postgres_lets_the_postgres_user_into_the_funnels_database_with_its_parameter_password()
    {
        var connectionString = await ConnectionStringAsync("funnels");
        var port = App.GetEndpoint("postgres", "tcp").Port;
        Assert.Equal($"Host=127.0.0.1;Port={port};Username=postgres;Password={servers.Parameters.PostgresPassword};Database=funnels", connectionString);

        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Cancellation);
        await using var command = new NpgsqlCommand("SELECT current_user || '/' || current_database()", connection);
        Assert.Equal("postgres/funnels", await command.ExecuteScalarAsync(Cancellation));

        // Only the password opens it: scram-sha-256 on 127.0.0.1, no trust.
        var wrong = new NpgsqlConnectionStringBuilder(connectionString) { Password = "not-the-password", Pooling = false };
        await using var refused = new NpgsqlConnection(wrong.ConnectionString);
        var error = await Assert.ThrowsAsync<PostgresException>(() => refused.OpenAsync(Cancellation));
        Assert.Equal(PostgresErrorCodes.InvalidPassword, error.SqlState);
    }

    [Fact]
    public async Task RabbitMQ_lets_the_funnels_user_declare_publish_and_consume_on_the_default_vhost()
    {
        var connectionString = await ConnectionStringAsync("rabbitmq");
        Assert.Equal($"amqp://funnels:{servers.Parameters.RabbitMQPassword}@127.0.0.1:{App.GetEndpoint("rabbitmq", "tcp").Port}", connectionString);
        var factory = new ConnectionFactory { Uri = new Uri(connectionString) };
        await using var connection = await factory.CreateConnectionAsync(Cancellation);
        await using var channel = await connection.CreateChannelAsync(cancellationToken: Cancellation);
        var queue = $"apphost-test-{Guid.NewGuid():N}";
        await channel.QueueDeclareAsync(queue, durable: false, exclusive: false, autoDelete: true, cancellationToken: Cancellation);

        await channel.BasicPublishAsync("", queue, Encoding.UTF8.GetBytes("hello"), Cancellation);
        BasicGetResult? message = null;
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (message is null && DateTime.UtcNow < deadline)
        {
            message = await channel.BasicGetAsync(queue, autoAck: true, Cancellation);
            if (message is null) await Task.Delay(100, Cancellation);
        }

        Assert.NotNull(message);
        Assert.Equal("hello", Encoding.UTF8.GetString(message.Body.Span));
    }

    [Fact]
    public async Task RabbitMQ_refuses_guest()
    {
        var port = App.GetEndpoint("rabbitmq", "tcp").Port;
        var factory = new ConnectionFactory { Uri = new Uri($"amqp://guest:guest@127.0.0.1:{port}") };

        var error = await Assert.ThrowsAsync<BrokerUnreachableException>(() => factory.CreateConnectionAsync(Cancellation));

        // Refused at login (the broker answered), not unreachable.
        Assert.Contains(Chain(error), e => e is AuthenticationFailureException);
    }

    private static IEnumerable<Exception> Chain(Exception? e)
    {
        for (; e is not null; e = e.InnerException) yield return e;
    }

    [Fact]
    public async Task Redis_answers_ping_with_its_password_and_nothing_without()
    {
        var connectionString = await ConnectionStringAsync("redis");
        var port = App.GetEndpoint("redis", "tcp").Port;
        Assert.Equal($"127.0.0.1:{port},password={servers.Parameters.RedisPassword}", connectionString);

        Assert.StartsWith("-NOAUTH", await Probes.RedisCommandsAsync(port, ["PING"], Cancellation));
        Assert.Equal("+OK\r\n+PONG", await Probes.RedisCommandsAsync(port, [$"AUTH {servers.Parameters.RedisPassword}", "PING"], Cancellation));
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void Files_holding_a_password_are_readable_by_their_owner_only()
    {
        foreach (var (file, password) in new[] { ("rabbitmq/rabbitmq.conf", servers.Parameters.RabbitMQPassword), ("redis/redis.conf", servers.Parameters.RedisPassword) })
        {
            var path = Path.Combine(servers.DataRoot, file);
            var mode = File.GetUnixFileMode(path);
            Assert.True(mode == (UnixFileMode.UserRead | UnixFileMode.UserWrite), $"{file} has mode {mode}");
            Assert.Contains(password, File.ReadAllText(path));
        }
    }

    [Fact]
    public async Task RabbitMQ_stopped_and_started_again_through_aspire_comes_back_on_the_same_port_with_the_same_user()
    {
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
        cancel.CancelAfter(TestAppHost.StartBound);
        var port = App.GetEndpoint("rabbitmq", "tcp").Port;
        var connectionString = await ConnectionStringAsync("rabbitmq");

        await App.RunCommandAsync("rabbitmq", KnownResourceCommands.StopCommand, cancel.Token);
        await App.ResourceNotifications.WaitForResourceAsync("rabbitmq", KnownResourceStates.TerminalStates, cancel.Token);
        await Probes.UntilAsync(() => !Probes.Accepts(port), $"port {port} to close", TimeSpan.FromSeconds(30));

        await App.RunCommandAsync("rabbitmq", KnownResourceCommands.StartCommand, cancel.Token);
        await App.ResourceNotifications.WaitForResourceHealthyAsync("rabbitmq", cancel.Token);

        Assert.Equal(port, App.GetEndpoint("rabbitmq", "tcp").Port);
        Assert.Equal(connectionString, await ConnectionStringAsync("rabbitmq"));
        var factory = new ConnectionFactory { Uri = new Uri(connectionString) };
        await using var connection = await factory.CreateConnectionAsync(cancel.Token);
        Assert.True(connection.IsOpen);
    }
}
