using Npgsql;

namespace Funnels.Faults.Tests;

/// <summary>
/// Holds every connection of a service's pool (its own NpgsqlDataSource) until disposed: the service
/// is up, the database is up, and the service has no connection to give a request. Opens connections
/// until the pool's own wait runs out, then keeps two waits queued so that a connection the service's
/// background work hands back goes to the hog, not to the request under test (the pool serves its
/// waiters in order).
/// </summary>
public sealed class PoolHog : IAsyncDisposable
{
    private readonly NpgsqlDataSource _pool;
    private readonly List<NpgsqlConnection> _held = [];
    private readonly CancellationTokenSource _stop = new();
    private Task _keeping = Task.CompletedTask;

    private PoolHog(NpgsqlDataSource pool) => _pool = pool;

    public int Held
    {
        get
        {
            lock (_held)
            {
                return _held.Count;
            }
        }
    }

    public static async Task<PoolHog> ExhaustAsync(NpgsqlDataSource pool)
    {
        var hog = new PoolHog(pool);
        while (await hog.TryTakeAsync())
        {
        }
        hog._keeping = Task.WhenAll(hog.KeepTakingAsync(), hog.KeepTakingAsync());
        return hog;
    }

    /// <summary>False once the pool had nothing to give for its whole wait (the connection string's Timeout).</summary>
    private async Task<bool> TryTakeAsync()
    {
        try
        {
            var connection = await _pool.OpenConnectionAsync(_stop.Token);
            lock (_held)
            {
                _held.Add(connection);
            }
            return true;
        }
        catch (NpgsqlException e) when (e.InnerException is TimeoutException)
        {
            return false;
        }
    }

    private async Task KeepTakingAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                await TryTakeAsync();
            }
        }
        catch (Exception) when (_stop.IsCancellationRequested)
        {
            // Released (Npgsql may wrap the cancelled wait).
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _keeping;
        foreach (var connection in _held)
        {
            await connection.DisposeAsync();
        }
    }
}
