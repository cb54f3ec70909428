namespace Funnels.Tests.Infrastructure;

/// <summary>
/// Lets a fake receiver (<see cref="FakeGraphApi"/>, <see cref="WebhookReceiver"/>) hold the
/// requests it has already recorded, without answering, until the test opens the gate again: the
/// caller is provably inside its handler, between the receiver's decision and its own commit, and
/// a test can kill it there. Open by default; a request held when its caller goes away (the
/// connection closed) stops waiting and is counted as abandoned.
/// </summary>
public sealed class RequestGate
{
    private TaskCompletionSource? _closed;
    private int _held;
    private int _waiting;
    private int _abandoned;

    /// <summary>Requests held since the gate was first closed.</summary>
    public int Held => Volatile.Read(ref _held);

    /// <summary>Requests held now, their callers still waiting for the answer.</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    /// <summary>Held requests whose caller went away before the gate opened (a timeout, a killed process).</summary>
    public int Abandoned => Volatile.Read(ref _abandoned);

    /// <summary>Holds every request from now on until <see cref="Open"/>.</summary>
    public void Close() => Interlocked.CompareExchange(ref _closed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), null);

    /// <summary>Answers the held requests (those whose caller is still there) and lets the next ones through.</summary>
    public void Open() => Interlocked.Exchange(ref _closed, null)?.TrySetResult();

    /// <summary>Called by a receiver once it recorded a request, before it answers.</summary>
    public async Task PassAsync(CancellationToken aborted)
    {
        var closed = Volatile.Read(ref _closed);
        if (closed is null)
        {
            return;
        }
        Interlocked.Increment(ref _held);
        Interlocked.Increment(ref _waiting);
        try
        {
            await closed.Task.WaitAsync(aborted);
        }
        catch (OperationCanceledException)
        {
            Interlocked.Increment(ref _abandoned);
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }
    }
}
