using System.Security.Cryptography;
using System.Text.Json;

namespace Funnels.AppHost.Hosting;

/// <summary>
/// Passwords generated on the first run and kept in <c>&lt;DataRoot&gt;/secrets.json</c>, so
/// data folders created with them keep working on later runs. Letters and digits only:
/// they go into URIs and connection strings unescaped.
/// </summary>
public sealed class Secrets
{
    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    private readonly string path;
    private readonly Dictionary<string, string> values;
    private readonly HashSet<string> inherited;
    private readonly Lock gate = new();

    private Secrets(string path, Dictionary<string, string> values)
    {
        this.path = path;
        this.values = values;
        inherited = [.. values.Keys];
    }

    public static Secrets Load(string path)
    {
        var values = File.Exists(path)
            ? JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(path)) ?? []
            : [];
        return new Secrets(path, values);
    }

    /// <summary>Whether this password was on disk before this run, so data made with it still opens.</summary>
    public bool Existed(string key) => inherited.Contains(key);

    public string Get(string key, int length = 24)
    {
        lock (gate)
        {
            if (!values.TryGetValue(key, out var value))
            {
                value = RandomNumberGenerator.GetString(Alphabet, length);
                values[key] = value;
                Save();
            }

            return value;
        }
    }

    private void Save()
    {
        var json = JsonSerializer.Serialize(values, new JsonSerializerOptions { WriteIndented = true });
        OwnerOnlyFile.WriteAllText(path, json);
    }
}
