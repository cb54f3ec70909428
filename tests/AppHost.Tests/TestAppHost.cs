using System.Security.Cryptography;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Funnels.AppHost.Tests;

/// <summary>
/// The AppHost as the tests start it: Projects.AppHost under Aspire.Hosting.Testing on free ports
/// (Funnels:RandomPorts) and a throw-away data folder (Funnels:DataRoot), with every parameter set
/// by the test, so nothing is read from or written to the developer's user secrets.
/// </summary>
internal static class TestAppHost
{
    /// <summary>The repository the tests were built in (tests/AppHost.Tests/bin/Debug/net10.0 is five levels down).</summary>
    public static readonly string RepositoryRoot = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", ".."));

    /// <summary>Every resource of the whole topology that has a state, in the order AppHost declares them.</summary>
    public static readonly string[] Resources =
        ["postgres", "funnels", "rabbitmq-epmd", "rabbitmq", "redis", "runtime-api", "tracking-api", "messaging-worker", "admin-web"];

    public static readonly string[] ServerResources = ["postgres", "funnels", "rabbitmq-epmd", "rabbitmq", "redis"];

    public static readonly string[] Services = ["runtime-api", "tracking-api", "messaging-worker", "admin-web"];

    /// <summary>A limit for a whole start on 2 busy cores (about 60 s when quiet), not an expectation.</summary>
    public static readonly TimeSpan StartBound = TimeSpan.FromMinutes(5);

    public static string NewDataRoot() => Directory.CreateTempSubdirectory("funnels-apphost-").FullName;

    /// <summary>The arguments every test run gives the AppHost, the parameters' included.</summary>
    public static string[] Args(string dataRoot, TestParameters parameters, params string[] more) =>
        ["--Funnels:RandomPorts=true", $"--Funnels:DataRoot={dataRoot}", .. parameters.Args, .. more];

    public static Task<IDistributedApplicationTestingBuilder> CreateBuilderAsync(
        string dataRoot, TestParameters parameters, bool dashboard, CancellationToken cancellationToken, params string[] more) =>
        DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
            new DistributedApplicationTestingBuilderOptions { EnableDashboard = dashboard }, Args(dataRoot, parameters, more), cancellationToken);

    /// <summary>Waits until each resource is healthy; on a timeout names the ones that are not and shows their consoles.</summary>
    public static async Task WaitUntilHealthyAsync(DistributedApplication app, ConsoleTails logs, IEnumerable<string> resources, CancellationToken cancellationToken)
    {
        try
        {
            await Task.WhenAll(resources.Select(r => app.ResourceNotifications.WaitForResourceHealthyAsync(r, cancellationToken)));
        }
        catch (OperationCanceledException)
        {
            var states = resources.Select(r => app.ResourceNotifications.TryGetCurrentState(r, out var e)
                ? $"{r}: {e.Snapshot.State?.Text} / {e.Snapshot.HealthStatus}" : $"{r}: no state");
            throw new TimeoutException("Not every resource became healthy:\n" + string.Join('\n', states) + "\n" + logs.TailsOf(resources));
        }
    }

    public static void DeleteQuietly(string dataRoot)
    {
        try
        {
            Directory.Delete(dataRoot, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A server that was killed may still be flushing; the folder is in /tmp anyway.
        }
    }
}

/// <summary>The AppHost's parameters as a test sets them (Parameters:&lt;name&gt;), so it knows every secret.</summary>
public sealed record TestParameters(
    string AdminPassword, string PostgresPassword, string RabbitMQPassword, string RedisPassword,
    string SigningKey, string ClientAddressKey, string EncryptionKey)
{
    public static TestParameters New() => new(
        Random(24), Random(24), Random(24), Random(24), Random(48), Random(48), Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));

    public IEnumerable<string> Args =>
    [
        $"--Parameters:admin-password={AdminPassword}",
        $"--Parameters:postgres-password={PostgresPassword}",
        $"--Parameters:rabbitmq-password={RabbitMQPassword}",
        $"--Parameters:redis-password={RedisPassword}",
        $"--Parameters:auth-signing-key={SigningKey}",
        $"--Parameters:auth-client-address-key={ClientAddressKey}",
        $"--Parameters:secrets-encryption-key={EncryptionKey}",
    ];

    private static string Random(int length) =>
        RandomNumberGenerator.GetString("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", length);
}
