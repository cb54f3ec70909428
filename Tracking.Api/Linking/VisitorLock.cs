using Dapper;
using Npgsql;

namespace Funnels.Tracking.Linking;

/// <summary>
/// Serialises everything that touches one visitor's link: new sessions and both linking paths.
/// Transaction-scoped, so it is released by the commit or rollback that ends the work.
/// </summary>
public static class VisitorLock
{
    public static Task AcquireAsync(NpgsqlTransaction transaction, Guid workspaceId, string visitorId) =>
        transaction.Connection!.ExecuteAsync("SELECT pg_advisory_xact_lock(hashtextextended(@key, 0))",
            new { key = $"tracking-visitor:{workspaceId}:{visitorId}" }, transaction);
}
