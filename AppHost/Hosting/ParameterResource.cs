namespace Funnels.AppHost.Hosting;

/// <summary>
/// A value handed to projects through the environment: configuration
/// <c>Parameters:&lt;name&gt;</c> when set, otherwise (for secrets) generated on the first run
/// and kept in <c>&lt;DataRoot&gt;/secrets.json</c>, like Aspire's generated parameters.
/// </summary>
public sealed class ParameterResource
{
    /// <summary>48 letters and digits: enough for an HS256 key (at least 32 bytes).</summary>
    public const int GeneratedLength = 48;
    private Func<string>? resolve;

    internal ParameterResource(string name, bool secret)
    {
        Name = name;
        Secret = secret;
    }

    public string Name { get; }

    public bool Secret { get; }

    public string Value => (resolve ?? throw new InvalidOperationException($"parameter {Name} has no value until the application is built"))();

    internal void Resolve(string? configured, Secrets secrets)
    {
        if (configured is not null)
        {
            resolve = () => configured;
        }
        else if (Secret)
        {
            resolve = () => secrets.Get(Name, GeneratedLength);
        }
        else
        {
            throw new SetupException($"parameter {Name} has no value: set Parameters__{Name}");
        }
    }
}
