using Funnels.AppHost.Hosting.Servers;

namespace Funnels.AppHost.Hosting;

/// <summary>A declared resource, for chaining WithReference / WaitFor / WithEnvironment.</summary>
public sealed class ResourceBuilder<T>(T resource) where T : Resource
{
    public T Resource { get; } = resource;
}

public static class ResourceBuilderExtensions
{
    /// <summary>The port the project listens on; without one (or with random ports) a free port is chosen.</summary>
    public static ResourceBuilder<ProjectResource> WithHttpEndpoint(this ResourceBuilder<ProjectResource> project, int? port = null)
    {
        project.Resource.UseHttpPort(port);
        return project;
    }

    /// <summary>Hands the server's connection string to the project as <c>ConnectionStrings__&lt;name&gt;</c>.</summary>
    public static ResourceBuilder<ProjectResource> WithReference<TServer>(
        this ResourceBuilder<ProjectResource> project, ResourceBuilder<TServer> server) where TServer : ServerResource
    {
        project.Resource.AddReference(server.Resource);
        return project;
    }

    /// <summary>Hands the other project's address to this one as <c>services__&lt;name&gt;__http__0</c>.</summary>
    public static ResourceBuilder<ProjectResource> WithReference(
        this ResourceBuilder<ProjectResource> project, ResourceBuilder<ProjectResource> other)
    {
        project.Resource.AddReference(other.Resource);
        return project;
    }

    /// <summary>Starts the resource only once <paramref name="dependency"/> is healthy.</summary>
    public static ResourceBuilder<T> WaitFor<T, TDependency>(this ResourceBuilder<T> resource, ResourceBuilder<TDependency> dependency)
        where T : Resource
        where TDependency : Resource
    {
        resource.Resource.AddWaitFor(dependency.Resource);
        return resource;
    }

    /// <summary>An extra environment variable for this project; it wins over AppHost's defaults.</summary>
    public static ResourceBuilder<ProjectResource> WithEnvironment(this ResourceBuilder<ProjectResource> project, string key, string value)
    {
        project.Resource.SetEnvironment(key, () => value);
        return project;
    }

    /// <summary>A parameter's value (a generated secret, say) as an environment variable of this project.</summary>
    public static ResourceBuilder<ProjectResource> WithEnvironment(
        this ResourceBuilder<ProjectResource> project, string key, ParameterResource parameter)
    {
        project.Resource.SetEnvironment(key, () => parameter.Value);
        return project;
    }
}
