using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Funnels.AppHost.Tests;

/// <summary>
/// The deployment manifest, written by the AppHost's own publisher as an operator (or CI) runs it:
/// `dotnet run --project AppHost -- --publisher manifest --output-path FILE`, in both server modes.
/// </summary>
public sealed partial class ManifestTests
{
    private static readonly string[] Services = ["runtime-api", "tracking-api", "messaging-worker", "admin-web"];

    [Theory]
    [InlineData("executables", "executable.v0")]
    [InlineData("containers", "container.v0")]
    public async Task The_manifest_has_every_resource_and_every_connection_string_a_service_reads(string servers, string serverType)
    {
        var output = Path.Combine(Directory.CreateTempSubdirectory("funnels-manifest-").FullName, "aspire-manifest.json");
        await PublishAsync(output, servers);

        var resources = JsonDocument.Parse(await File.ReadAllTextAsync(output, TestContext.Current.CancellationToken)).RootElement.GetProperty("resources");
        string TypeOf(string name) => resources.TryGetProperty(name, out var r) ? r.GetProperty("type").GetString()! : "(missing)";

        foreach (var server in new[] { "postgres", "rabbitmq", "redis" })
        {
            Assert.Equal(serverType, TypeOf(server));
        }
        Assert.Equal("value.v0", TypeOf("funnels")); // the database: {postgres.connectionString};Database=funnels
        if (servers == "executables")
        {
            Assert.Equal("executable.v0", TypeOf("rabbitmq-epmd"));
        }
        foreach (var parameter in new[] { "auth-signing-key", "auth-client-address-key", "secrets-encryption-key", "admin-password", "postgres-password", "rabbitmq-password", "redis-password" })
        {
            Assert.Equal("parameter.v0", TypeOf(parameter));
            Assert.True(resources.GetProperty(parameter).GetProperty("inputs").GetProperty("value").GetProperty("secret").GetBoolean(), $"{parameter} is secret");
        }

        foreach (var service in Services)
        {
            Assert.Equal("project.v0", TypeOf(service));
        }
        foreach (var service in new[] { "runtime-api", "tracking-api", "messaging-worker" })
        {
            var env = resources.GetProperty(service).GetProperty("env");
            foreach (var name in new[] { "funnels", "rabbitmq", "redis" })
            {
                Assert.Equal($"{{{name}.connectionString}}", env.GetProperty($"ConnectionStrings__{name}").GetString());
            }
        }
        // Every reference in the manifest points at a resource the manifest has.
        var text = await File.ReadAllTextAsync(output, TestContext.Current.CancellationToken);
        foreach (var referenced in Reference().Matches(text).Select(m => m.Groups[1].Value).Distinct())
        {
            Assert.True(resources.TryGetProperty(referenced, out _), $"the manifest refers to {referenced}, which it does not list");
        }
    }

    [GeneratedRegex(@"\{([a-z0-9-]+)\.(?:connectionString|bindings|value|inputs)")]
    private static partial Regex Reference();

    private static async Task PublishAsync(string output, string servers)
    {
        var root = RepositoryRoot();
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in new[] { "run", "--project", "AppHost", "--no-build", "--no-launch-profile", "--",
                     "--publisher", "manifest", "--output-path", output, $"--Funnels:Servers={servers}" })
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var bound = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(bound.Token);
        Assert.True(process.ExitCode == 0 && File.Exists(output), $"manifest publisher exited {process.ExitCode}:\n{await stdout}\n{await stderr}");
    }

    private static string RepositoryRoot()
    {
        var folder = new DirectoryInfo(AppContext.BaseDirectory);
        while (folder is not null && !File.Exists(Path.Combine(folder.FullName, "Funnels.sln")))
        {
            folder = folder.Parent;
        }
        return folder?.FullName ?? throw new InvalidOperationException("Funnels.sln not found above the test's folder");
    }
}
