using System.Collections.Concurrent;
using Dapper;
using Npgsql;

namespace Funnels.Tracking.Workspaces;

/// <summary>
/// Whether a workspace id on a public request is one Runtime.Api created. Ids found are
/// remembered in memory (workspaces are never removed today); an unknown id is asked of the
/// database each time, since its WorkspaceCreated may arrive any moment.
/// </summary>
public sealed class KnownWorkspaces(NpgsqlDataSource dataSource)
{
    private readonly ConcurrentDictionary<Guid, bool> _known = new();

    public async Task<bool> ContainsAsync(Guid workspaceId, CancellationToken cancellationToken)
    {
        if (_known.ContainsKey(workspaceId))
        {
            return true;
        }
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var exists = await connection.ExecuteScalarAsync<bool>("SELECT EXISTS (SELECT 1 FROM tracking.workspaces WHERE id = @workspaceId)", new { workspaceId });
        if (exists)
        {
            _known.TryAdd(workspaceId, true);
        }
        return exists;
    }

    /// <summary>The 404 a public endpoint answers for a workspace id nobody created; it writes nothing.</summary>
    public static IResult Unknown(string field) => TypedResults.Problem(
        $"No workspace has this id ({field}): copy it from the admin panel's tracking settings.", title: "Unknown workspace", statusCode: StatusCodes.Status404NotFound);
}
