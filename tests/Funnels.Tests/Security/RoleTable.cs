using System.Text.RegularExpressions;

namespace Funnels.Tests.Security;

/// <summary>
/// The role table of docs/security/roles.md, read as the tests' source of truth: one row per
/// operation of the three APIs' OpenAPI documents, with the least role it needs.
/// </summary>
public sealed partial record RoleRow(string Service, string Method, string Path, string Role)
{
    /// <summary>Who may call, from least to most: anyone (with the endpoint's own credentials, if any), any member, editors, owners, owners of the operator workspace.</summary>
    public static readonly string[] Ranks = ["public", "viewer", "editor", "owner", "operator"];

    public static readonly string DocumentPath = System.IO.Path.Combine("docs", "security", "roles.md");

    public string Key => $"{Service} {Method} {Path}";

    /// <summary>Whether a token with <paramref name="role"/> in an ordinary workspace meets this row.</summary>
    public bool Allows(string role) => Role switch
    {
        "public" or "viewer" => true,
        "editor" => role is "editor" or "owner",
        "owner" => role == "owner",
        "operator" => false,
        _ => throw new InvalidOperationException($"{Key}: unknown role '{Role}' in {DocumentPath}"),
    };

    public static IReadOnlyList<RoleRow> Load()
    {
        var file = System.IO.Path.Combine(RepositoryRoot(), DocumentPath);
        var rows = new List<RoleRow>();
        foreach (var line in File.ReadLines(file))
        {
            var match = Row().Match(line);
            if (!match.Success) continue;
            var role = match.Groups["role"].Value.Trim();
            if (!Ranks.Contains(role)) throw new InvalidOperationException($"{file}: unknown role '{role}' in: {line}");
            rows.Add(new RoleRow(match.Groups["service"].Value, match.Groups["method"].Value, match.Groups["path"].Value, role));
        }
        return rows;
    }

    private static string RepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(folder.FullName, "Funnels.sln"))) return folder.FullName;
        }
        throw new InvalidOperationException("Funnels.sln not found above " + AppContext.BaseDirectory);
    }

    // | runtime-api | GET | `/api/runtime/funnels/{id}` | viewer | ... |
    [GeneratedRegex(@"^\|\s*(?<service>runtime-api|tracking-api|messaging-worker)\s*\|\s*(?<method>GET|POST|PUT|PATCH|DELETE)\s*\|\s*`(?<path>[^`]+)`\s*\|\s*(?<role>[a-z]+)\s*\|")]
    private static partial Regex Row();
}
