using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Npgsql;

namespace Funnels.Bench;

/// <summary>The machine's own limit for lead capture: pgbench committing one single-row INSERT per
/// transaction (a lead-sized row) against the same PostgreSQL, with the same number of clients.</summary>
public static partial class Pgbench
{
    public const string Binary = "/usr/lib/postgresql/15/bin/pgbench";

    private const string Script = """
        INSERT INTO bench.pgbench_leads (id, email, form_data) VALUES (gen_random_uuid(), 'p' || random() || '@bench.test', '{"email": "ana@bench.test", "name": "Ana", "plan": "basic"}');
        """;

    public sealed record Result(double PerSecond, long Transactions);

    public static async Task<Result> InsertsAsync(string connectionString, int clients, TimeSpan duration)
    {
        await using (var dataSource = NpgsqlDataSource.Create(connectionString))
        {
            await using var command = dataSource.CreateCommand("""
                CREATE SCHEMA IF NOT EXISTS bench;
                CREATE TABLE IF NOT EXISTS bench.pgbench_leads (id uuid PRIMARY KEY, email text NOT NULL, form_data jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
                """);
            await command.ExecuteNonQueryAsync();
        }

        var script = Path.GetTempFileName();
        await File.WriteAllTextAsync(script, Script);
        try
        {
            var connection = new NpgsqlConnectionStringBuilder(connectionString);
            var start = new ProcessStartInfo(Binary)
            {
                ArgumentList =
                {
                    "-n", "-f", script, "-c", clients.ToString(CultureInfo.InvariantCulture), "-j", "2",
                    "-T", ((int)Math.Max(1, duration.TotalSeconds)).ToString(CultureInfo.InvariantCulture),
                    "-h", connection.Host!, "-p", connection.Port.ToString(CultureInfo.InvariantCulture),
                    "-U", connection.Username!, connection.Database!,
                },
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                Environment = { ["PGPASSWORD"] = connection.Password },
            };
            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync();
            var errors = process.StandardError.ReadToEndAsync();
            await process.WaitForExitAsync();
            var tps = Tps().Match(await output);
            var transactions = Transactions().Match(await output);
            return tps.Success && transactions.Success
                ? new Result(double.Parse(tps.Groups[1].Value, CultureInfo.InvariantCulture), long.Parse(transactions.Groups[1].Value, CultureInfo.InvariantCulture))
                : throw new InvalidOperationException($"pgbench exited {process.ExitCode}: {await output}{await errors}");
        }
        finally
        {
            File.Delete(script);
        }
    }

    [GeneratedRegex(@"tps = ([0-9.]+) \(without initial connection time\)")]
    private static partial Regex Tps();

    [GeneratedRegex(@"number of transactions actually processed: ([0-9]+)")]
    private static partial Regex Transactions();
}
