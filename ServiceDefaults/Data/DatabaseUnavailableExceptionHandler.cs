using System.Net.Sockets;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Funnels.ServiceDefaults.Data;

/// <summary>
/// While PostgreSQL is down, restarting, out of connection slots, or the service's own pool is
/// exhausted, a request that needs it is answered 503 problem details with Retry-After: a
/// client may retry, nothing was written (the transaction never committed), and no stack trace
/// leaves the process. Logged as a warning: an outage is an operations event, not a bug.
/// Every other exception still reaches the default 500 answer.
/// </summary>
public sealed class DatabaseUnavailableExceptionHandler(IProblemDetailsService problemDetails, ILogger<DatabaseUnavailableExceptionHandler> logger) : IExceptionHandler
{
    public const int RetryAfterSeconds = 5;

    public async ValueTask<bool> TryHandleAsync(HttpContext http, Exception exception, CancellationToken cancellationToken)
    {
        if (!IsUnavailable(exception) || http.Response.HasStarted)
        {
            return false;
        }

        logger.LogWarning("{Method} {Path} answered 503: the database is unavailable ({Error}: {Message})",
            http.Request.Method, http.Request.Path, exception.GetType().Name, exception.Message);
        http.Response.Clear();
        http.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        http.Response.Headers.RetryAfter = RetryAfterSeconds.ToString();
        return await problemDetails.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = http,
            Exception = exception,
            ProblemDetails = new ProblemDetails
            {
                Status = StatusCodes.Status503ServiceUnavailable,
                Title = "Service temporarily unavailable",
                Detail = $"The database could not be reached; nothing was saved. Retry after {RetryAfterSeconds} s.",
            },
        });
    }

    /// <summary>A connection that could not be opened or broke, a server going down or full, or a pool wait that timed out.</summary>
    public static bool IsUnavailable(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case PostgresException postgres:
                    // 08: connection exception; 53: out of resources (too many connections);
                    // 57P01-03: the server is shutting down, crashed or still starting.
                    return postgres.SqlState.StartsWith("08", StringComparison.Ordinal)
                        || postgres.SqlState.StartsWith("53", StringComparison.Ordinal)
                        || postgres.SqlState is "57P01" or "57P02" or "57P03";
                case NpgsqlException { InnerException: SocketException or IOException or TimeoutException }:
                    // Connection refused or broken, or the pool's wait for a free connection timed out.
                    return true;
                case SocketException:
                    return true;
            }
        }
        return false;
    }
}
