using System.Reflection;
using Funnels.AppHost.Hosting.Servers;
using Microsoft.Extensions.Configuration;

namespace Funnels.AppHost.Hosting;

/// <summary>Declares the topology: servers, projects, references and waits. Nothing runs until StartAsync.</summary>
public sealed class DistributedApplicationBuilder
{
    private const string DashboardKey = "dashboard";
    private readonly List<Resource> resources = [];
    private readonly Dictionary<string, Func<string>> sharedEnvironment = new(StringComparer.Ordinal);
    private readonly List<ParameterResource> parameters = [];

    internal DistributedApplicationBuilder(DistributedApplicationOptions options)
    {
        Options = options;
        Configuration = new ConfigurationBuilder()
            .AddEnvironmentVariables()
            .AddCommandLine(options.Args, new Dictionary<string, string> { ["--data-root"] = "Funnels:DataRoot" })
            .Build();
    }

    public DistributedApplicationOptions Options { get; }

    /// <summary>Environment variables and command line; <c>Funnels:DataRoot</c> and <c>Funnels:Ports:*</c> are read from it.</summary>
    public IConfiguration Configuration { get; }

    public IReadOnlyList<Resource> Resources => resources;

    public ResourceBuilder<PostgresServerResource> AddPostgres(string name) => Add(new PostgresServerResource(name));

    public ResourceBuilder<RabbitMQServerResource> AddRabbitMQ(string name) => Add(new RabbitMQServerResource(name));

    public ResourceBuilder<RedisServerResource> AddRedis(string name) => Add(new RedisServerResource(name));

    /// <param name="projectFolder">The project's folder under the repository root (also its dll's name).</param>
    public ResourceBuilder<ProjectResource> AddProject(string name, string projectFolder) => Add(new ProjectResource(name, projectFolder));

    /// <summary>A value from configuration <c>Parameters:&lt;name&gt;</c>; a secret one is generated and kept when unset.</summary>
    public ParameterResource AddParameter(string name, bool secret = false)
    {
        var parameter = new ParameterResource(name, secret);
        parameters.Add(parameter);
        return parameter;
    }

    /// <summary>An environment variable for every project.</summary>
    public DistributedApplicationBuilder WithEnvironment(string key, string value)
    {
        sharedEnvironment[key] = () => value;
        return this;
    }

    /// <summary>A parameter's value as an environment variable of every project.</summary>
    public DistributedApplicationBuilder WithEnvironment(string key, ParameterResource parameter)
    {
        sharedEnvironment[key] = () => parameter.Value;
        return this;
    }

    /// <summary>A value derived from a parameter (read when projects start) as an environment variable of every project.</summary>
    public DistributedApplicationBuilder WithEnvironment(string key, ParameterResource parameter, Func<string, string> derive)
    {
        sharedEnvironment[key] = () => derive(parameter.Value);
        return this;
    }

    /// <summary>Decides folders, secrets and ports; after this every connection string is known.</summary>
    public DistributedApplication Build()
    {
        var ordered = StartOrder();
        var repositoryRoot = Options.RepositoryRoot ?? Metadata("Funnels.RepositoryRoot") ?? FindRepositoryRoot();
        var dataRoot = Path.GetFullPath(Options.DataRoot ?? Configuration["Funnels:DataRoot"] ?? Path.Combine(repositoryRoot, ".data"));
        Directory.CreateDirectory(dataRoot);
        var secrets = Secrets.Load(Path.Combine(dataRoot, "secrets.json"));
        foreach (var parameter in parameters)
        {
            parameter.Resolve(Configuration[$"Parameters:{parameter.Name}"], secrets);
        }

        var context = new ResourceContext(
            Options,
            dataRoot,
            repositoryRoot,
            Options.Configuration ?? Metadata("Funnels.Configuration") ?? "Debug",
            secrets,
            Options.Output ?? (Options.EchoLogs ? TextWriter.Synchronized(Console.Out) : TextWriter.Null),
            new Dictionary<string, Func<string>>(sharedEnvironment));

        var requests = resources.SelectMany(r => r.PortRequests).ToList();
        if (Options.DashboardPort != 0)
        {
            requests.Add(new PortRequest(DashboardKey, Options.DashboardPort));
        }

        var ports = LoopbackPorts.Assign(requests, Options.UseRandomPorts, Configuration);
        foreach (var resource in resources)
        {
            resource.Attach(context, resource.PortRequests.ToDictionary(r => r.Key, r => ports[r.Key]));
        }

        return new DistributedApplication(context, ordered, ports.TryGetValue(DashboardKey, out var dashboard) ? dashboard : null);
    }

    private ResourceBuilder<T> Add<T>(T resource) where T : Resource
    {
        if (resources.Any(r => string.Equals(r.Name, resource.Name, StringComparison.OrdinalIgnoreCase)))
        {
            throw new InvalidOperationException($"a resource named {resource.Name} is already declared");
        }

        resources.Add(resource);
        return new ResourceBuilder<T>(resource);
    }

    /// <summary>Declaration order, except that everything comes after what it waits for.</summary>
    private List<Resource> StartOrder()
    {
        var ordered = new List<Resource>();
        var visiting = new HashSet<Resource>();
        void Visit(Resource resource)
        {
            if (ordered.Contains(resource))
            {
                return;
            }

            if (!visiting.Add(resource))
            {
                throw new InvalidOperationException($"{resource.Name} waits for itself through a cycle of WaitFor");
            }

            foreach (var dependency in resource.WaitsFor)
            {
                if (!resources.Contains(dependency))
                {
                    throw new InvalidOperationException($"{resource.Name} waits for {dependency.Name}, which belongs to another builder");
                }

                Visit(dependency);
            }

            ordered.Add(resource);
        }

        resources.ForEach(Visit);
        return ordered;
    }

    private static string? Metadata(string key) => typeof(DistributedApplicationBuilder).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>()
        .FirstOrDefault(a => a.Key == key)?.Value;

    private static string FindRepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "Funnels.sln")))
            {
                return folder.FullName;
            }
        }

        return Environment.CurrentDirectory;
    }
}
