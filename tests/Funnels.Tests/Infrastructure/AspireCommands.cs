using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;

namespace Funnels.Tests.Infrastructure;

/// <summary>
/// Aspire's resource commands (the dashboard's Stop, Start, Restart buttons) by resource name,
/// for every test project that faults a resource. Shared as source with Faults.Tests and AppHost.Tests.
/// </summary>
public static class AspireCommands
{
    /// <summary>A resource of the running model by name (what Aspire's commands take).</summary>
    public static IResource Resource(this DistributedApplication app, string name) =>
        app.Services.GetRequiredService<DistributedApplicationModel>().Resources.Single(r => r.Name == name);

    /// <summary>Runs the command; a refusal fails the test, naming the command, the resource and Aspire's reason.</summary>
    public static async Task RunCommandAsync(this DistributedApplication app, string resource, string command, CancellationToken cancellationToken)
    {
        var result = await app.ResourceCommands.ExecuteCommandAsync(app.Resource(resource), command, cancellationToken);
        Assert.True(result.Success, $"{command} {resource}: {result.Message}");
    }
}
