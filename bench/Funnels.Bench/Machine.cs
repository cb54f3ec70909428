using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using Npgsql;

namespace Funnels.Bench;

/// <summary>Where and on what the figures were taken, printed with every table.</summary>
public sealed record Machine(int Cores, string CpuModel, double MemoryGiB, string LoadAtStart, string Dotnet, string Aspire, string Postgres, string RabbitMQ, string Redis)
{
    public static async Task<Machine> DescribeAsync(NpgsqlDataSource database, string loadAtStart)
    {
        var cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown";
        var memoryKb = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
        await using var version = database.CreateCommand("SHOW server_version");
        var postgres = (string)(await version.ExecuteScalarAsync())!;
        return new Machine(
            Environment.ProcessorCount, cpu, Math.Round(long.Parse(memoryKb) / 1024.0 / 1024.0, 1), loadAtStart,
            RuntimeInformation.FrameworkDescription,
            typeof(Aspire.Hosting.DistributedApplication).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "unknown",
            postgres,
            await OutputAsync("dpkg-query", "-W", "-f=${Version}", "rabbitmq-server"),
            (await OutputAsync("/usr/bin/redis-server", "--version")).Split(' ').FirstOrDefault(w => w.StartsWith("v=", StringComparison.Ordinal))?[2..] ?? "unknown");
    }

    /// <summary>The 1, 5 and 15 minute load averages, as uptime prints them.</summary>
    public static string LoadAverage() => string.Join(", ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3));

    private static async Task<string> OutputAsync(string file, params string[] arguments)
    {
        try
        {
            var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var argument in arguments) start.ArgumentList.Add(argument);
            using var process = Process.Start(start)!;
            var output = await process.StandardOutput.ReadToEndAsync();
            await process.WaitForExitAsync();
            return output.Trim();
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "unknown";
        }
    }
}
