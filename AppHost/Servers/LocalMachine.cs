namespace Funnels.AppHost.Servers;

/// <summary>
/// What a local run needs from the machine, checked before anything starts. Once DCP runs, a
/// missing server binary only shows as its start script failing in one console log while every
/// service waits for it, and a fixed port something else already holds (another checkout's run,
/// a system server) makes DCP wait without a word. Publishing a manifest needs neither.
/// </summary>
internal static class LocalMachine
{
    public static List<string> Problems(IDistributedApplicationBuilder builder, LocalPorts ports)
    {
        if (!builder.ExecutionContext.IsRunMode)
        {
            return [];
        }
        if (ServerChoice.MissingBinaries(builder.Configuration) is [_, ..] missing)
        {
            return [.. missing, "AppHost/prerequisites.sh installs every server (or set Funnels:Binaries:* to where they are)."];
        }
        var serverPorts = builder.Configuration["Funnels:Servers"] == "external" ? [] : LocalPorts.ServerKeys;
        var servicePorts = builder.Configuration["Funnels:Topology"] == "servers" ? [] : LocalPorts.ServiceKeys;
        return [.. ports.Busy([.. serverPorts, .. servicePorts])];
    }
}
