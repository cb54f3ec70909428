using System.Runtime.InteropServices;

namespace Funnels.AppHost.Hosting;

public sealed partial class DistributedApplication
{
    /// <summary>
    /// Starts everything, runs until Ctrl+C / SIGTERM / SIGQUIT (or the token), then stops in
    /// order. A second signal while stopping kills what is left at once and exits: the
    /// runtime's default action for it would end AppHost without ProcessExit and orphan
    /// the servers (they run in sessions of their own).
    /// </summary>
    public async Task RunAsync(CancellationToken cancellationToken = default)
    {
        using var shutdown = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        void OnSignal(PosixSignalContext signal)
        {
            signal.Cancel = true;
            if (!shutdown.IsCancellationRequested)
            {
                context.Output.WriteLine($"{signal.Signal}: stopping (again to kill everything at once)");
                shutdown.Cancel();
                return;
            }

            context.Output.WriteLine($"{signal.Signal}: killing everything");
            KillEverything(this, EventArgs.Empty);
            Environment.Exit(130);
        }

        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        using var quit = PosixSignalRegistration.Create(PosixSignal.SIGQUIT, OnSignal);
        try
        {
            await StartAsync(shutdown.Token);
            context.Output.WriteLine("Everything is up. Press Ctrl+C to stop.");
            await Task.Delay(Timeout.Infinite, shutdown.Token);
        }
        catch (OperationCanceledException) when (shutdown.IsCancellationRequested)
        {
            // Asked to stop.
        }
        finally
        {
            await StopAsync(CancellationToken.None);
            if (resources.Any(r => r.State == ResourceState.Stopped))
            {
                context.Output.WriteLine("Stopped.");
            }
        }
    }
}
