using Funnels.AppHost.Hosting;

namespace Funnels.AppHost.Tests;

/// <summary>Builders on a throw-away data folder with random ports, quiet, no dashboard unless asked.</summary>
internal static class TestApps
{
    public static string NewDataRoot() => Directory.CreateTempSubdirectory("funnels-apphost-").FullName;

    public static DistributedApplicationBuilder Builder(string dataRoot, bool dashboard = false, ServerBinaries? binaries = null) =>
        DistributedApplication.CreateBuilder(new DistributedApplicationOptions
        {
            DataRoot = dataRoot,
            UseRandomPorts = true,
            DashboardPort = dashboard ? DefaultPorts.Dashboard : 0,
            EchoLogs = false,
            Output = TextWriter.Null,
            Binaries = binaries ?? new ServerBinaries(),
        });

    public static void DeleteQuietly(string dataRoot)
    {
        try
        {
            Directory.Delete(dataRoot, recursive: true);
        }
        catch (IOException)
        {
            // A server that was killed may still be flushing; the folder is in /tmp anyway.
        }
    }
}
