using System.Security.Cryptography;
using System.Text;
using Dapper;
using Npgsql;

namespace Funnels.Runtime.Events;

public sealed record StoredResponse(string RequestHash, int StatusCode, string Response);

/// <summary>
/// The first answer to a request carrying an Idempotency-Key, kept so its repeats get the same
/// answer. The claim is a row inserted in the same transaction as the work: a concurrent repeat
/// waits on the primary key until the first commits, then reads its answer; if the first rolled
/// back, the repeat does the work itself.
/// </summary>
public static class IdempotencyKeys
{
    public const string Header = "Idempotency-Key";
    public const int MaxLength = 200;

    public static string HashOf(string body) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(body)));

    /// <summary>True when this request owns the key; otherwise the stored answer of the one that did.</summary>
    public static async Task<(bool Claimed, StoredResponse? Previous)> ClaimAsync(
        NpgsqlTransaction transaction, string scope, string key, string requestHash)
    {
        var connection = transaction.Connection!;
        var claimed = await connection.ExecuteAsync(
            "INSERT INTO runtime.idempotency_keys (scope, key, request_hash) VALUES (@scope, @key, @requestHash) ON CONFLICT DO NOTHING",
            new { scope, key, requestHash }, transaction);
        if (claimed == 1)
        {
            return (true, null);
        }
        var previous = await connection.QuerySingleAsync<StoredResponse>(
            "SELECT request_hash, status_code, response::text AS response FROM runtime.idempotency_keys WHERE scope = @scope AND key = @key",
            new { scope, key }, transaction);
        return (false, previous);
    }

    public static Task SaveAsync(NpgsqlTransaction transaction, string scope, string key, int statusCode, string response) =>
        transaction.Connection!.ExecuteAsync(
            "UPDATE runtime.idempotency_keys SET status_code = @statusCode, response = @response::jsonb WHERE scope = @scope AND key = @key",
            new { scope, key, statusCode, response }, transaction);
}
