#pragma warning disable ASPIRECERTIFICATES001 // WithoutHttpsCertificate is marked experimental in 13.6
namespace Funnels.AppHost;

internal static class FunnelsServices
{
    /// <summary>
    /// A Funnels service: plain http on its fixed local port (null: a free one), healthy when
    /// its /health answers 200, in the AppHost's environment (Development for a local run).
    /// No launch profile: the topology, not each project's launchSettings.json, says where it listens.
    /// </summary>
    public static IResourceBuilder<ProjectResource> AddFunnelsService<TProject>(
        this IDistributedApplicationBuilder builder, string name, int? port) where TProject : IProjectMetadata, new() =>
        builder.AddProject<TProject>(name, options => options.ExcludeLaunchProfile = true)
            .WithHttpEndpoint(port: port)
            .WithoutHttpsCertificate()
            .WithEnvironment("ASPNETCORE_ENVIRONMENT", builder.Environment.EnvironmentName)
            .WithHttpHealthCheck("/health");
}
