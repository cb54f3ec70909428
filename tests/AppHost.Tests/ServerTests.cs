using System.Net.Http.Json;
using System.Text;
using System.Text.RegularExpressions;
using Funnels.AppHost.Hosting;
using Funnels.AppHost.Hosting.Dashboard;
using Npgsql;
using RabbitMQ.Client;

namespace Funnels.AppHost.Tests;

/// <summary>The servers as the services will meet them: through the connection strings AppHost hands out.</summary>
public sealed partial class ServerTests(ServersFixture servers) : IClassFixture<ServersFixture>
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    private DistributedApplication App => servers.App;

    [Fact]
    public async Task Postgres_lets_the_funnels_role_into_the_funnels_database()
    {
        await using var connection = new NpgsqlConnection(App.GetConnectionString("postgres"));
        await connection.OpenAsync(Cancellation);
        await using var command = new NpgsqlCommand("SELECT current_user || '/' || current_database()", connection);

        Assert.Equal("funnels/funnels", await command.ExecuteScalarAsync(Cancellation));
    }

    [Fact]
    public async Task RabbitMQ_lets_the_funnels_user_declare_publish_and_consume_on_the_default_vhost()
    {
        var factory = new ConnectionFactory { Uri = new Uri(App.GetConnectionString("rabbitmq")) };
        await using var connection = await factory.CreateConnectionAsync(Cancellation);
        await using var channel = await connection.CreateChannelAsync(cancellationToken: Cancellation);
        var queue = $"apphost-test-{Guid.NewGuid():N}";
        await channel.QueueDeclareAsync(queue, durable: false, exclusive: false, autoDelete: true, cancellationToken: Cancellation);

        await channel.BasicPublishAsync("", queue, Encoding.UTF8.GetBytes("hello"), Cancellation);
        BasicGetResult? message = null;
        for (var attempt = 0; attempt < 50 && message is null; attempt++)
        {
            message = await channel.BasicGetAsync(queue, autoAck: true, Cancellation) ?? await Delay();
        }

        Assert.Equal("hello", Encoding.UTF8.GetString(message!.Body.Span));
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void Files_holding_a_password_are_readable_by_their_owner_only()
    {
        foreach (var file in new[] { "secrets.json", Path.Combine("rabbitmq", "rabbitmq.conf") })
        {
            var mode = File.GetUnixFileMode(Path.Combine(servers.DataRoot, file));
            Assert.True(mode == (UnixFileMode.UserRead | UnixFileMode.UserWrite), $"{file} has mode {mode}");
        }
        Assert.Contains("default_pass", File.ReadAllText(Path.Combine(servers.DataRoot, "rabbitmq", "rabbitmq.conf")));
    }

    [Fact]
    public async Task Redis_answers_ping()
    {
        var port = ((Hosting.Servers.RedisServerResource)App.GetResource("redis")).Port;

        Assert.Equal("+PONG", await Probes.RedisCommandAsync(port, "PING", Cancellation));
    }

    [Fact]
    public void Connection_strings_follow_the_aspire_conventions()
    {
        Assert.Matches(PostgresForm(), App.GetConnectionString("postgres"));
        Assert.Matches(RabbitMQForm(), App.GetConnectionString("rabbitmq"));
        Assert.Matches(RedisForm(), App.GetConnectionString("redis"));
    }

    [Fact]
    public async Task Dashboard_lists_every_server_as_healthy_with_its_log()
    {
        using var http = new HttpClient { BaseAddress = App.DashboardUrl };

        var page = await http.GetStringAsync("/", Cancellation);
        var resources = await http.GetFromJsonAsync<ResourceSnapshot[]>("/api/resources", Cancellation);

        Assert.Contains("/api/resources", page);
        Assert.Equal(["postgres", "rabbitmq", "redis"], resources!.Select(r => r.Name).Order());
        Assert.All(resources!, r => Assert.Equal(nameof(ResourceState.Healthy), r.State));
        Assert.All(resources!, r => Assert.NotEmpty(r.Log));
    }

    [Fact]
    public async Task RabbitMQ_stopped_and_started_again_comes_back_on_the_same_port_with_the_same_user()
    {
        var rabbitmq = (Hosting.Servers.RabbitMQServerResource)App.GetResource("rabbitmq");
        var port = rabbitmq.Port;
        var connectionString = App.GetConnectionString("rabbitmq");

        await App.StopResourceAsync("rabbitmq", Cancellation);
        Assert.Equal(ResourceState.Stopped, rabbitmq.State);
        Assert.False(Probes.Accepts(port));

        await App.StartResourceAsync("rabbitmq", Cancellation);
        Assert.Equal(ResourceState.Healthy, rabbitmq.State);
        Assert.Equal(port, rabbitmq.Port);
        Assert.Equal(connectionString, App.GetConnectionString("rabbitmq"));
        var factory = new ConnectionFactory { Uri = new Uri(connectionString) };
        await using var connection = await factory.CreateConnectionAsync(Cancellation);
        Assert.True(connection.IsOpen);
    }

    private static async Task<BasicGetResult?> Delay()
    {
        await Task.Delay(100, Cancellation);
        return null;
    }

    [GeneratedRegex(@"^Host=127\.0\.0\.1;Port=\d+;Database=funnels;Username=funnels;Password=[A-Za-z0-9]{24}$")]
    private static partial Regex PostgresForm();

    [GeneratedRegex(@"^amqp://funnels:[A-Za-z0-9]{24}@127\.0\.0\.1:\d+/$")]
    private static partial Regex RabbitMQForm();

    [GeneratedRegex(@"^127\.0\.0\.1:\d+$")]
    private static partial Regex RedisForm();
}
