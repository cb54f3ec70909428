using Funnels.AppHost.Hosting.Processes;

namespace Funnels.AppHost.Hosting.Servers;

/// <summary>
/// PostgreSQL 15 on <c>&lt;DataRoot&gt;/&lt;name&gt;/data</c>, with a login role and a database
/// both called <see cref="DatabaseName"/>. As root it runs as the <c>postgres</c> OS user
/// (PostgreSQL refuses root) through setpriv, which execs in place, so the pid we signal
/// is the postmaster itself: SIGINT is its fast shutdown.
/// </summary>
public sealed class PostgresServerResource(string name) : ServerResource(name)
{
    public const string DatabaseName = "funnels";
    private const string OsUser = "postgres";

    public override string Kind => "postgres";

    public override string ConnectionString =>
        $"Host=127.0.0.1;Port={Port};Database={DatabaseName};Username={DatabaseName};Password={Password}";

    private protected override string Product => "PostgreSQL 15";

    private protected override string Package => "postgresql";

    private protected override int DefaultPort => DefaultPorts.Postgres;

    private protected override IEnumerable<string> RequiredExecutables => [Bin("postgres"), Bin("initdb"), Bin("pg_isready"), Bin("psql")];

    private protected override int StopSignal => Posix.SIGINT;

    private string Password => Context.Secrets.Get(Name);

    private string SuperuserKey => $"{Name}-superuser";

    private string DataFolder => Path.Combine(Folder, "data");

    private string SocketFolder => Path.Combine(Folder, "run");

    private protected override async Task PrepareAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(SocketFolder);
        var initialised = File.Exists(Path.Combine(DataFolder, "PG_VERSION"));
        if (initialised)
        {
            CheckDataMatchesSecrets(DataFolder, SuperuserKey);
        }

        if (Posix.IsRoot)
        {
            await GiveFolderToPostgresAsync(cancellationToken);
        }

        if (!initialised)
        {
            await InitialiseAsync(cancellationToken);
        }
    }

    private protected override ProcessSpec CreateProcessSpec()
    {
        var (file, arguments) = AsUser(OsUser, Bin("postgres"),
            // Four services share this server, each with its own pool (up to 100 connections in
            // Npgsql); PostgreSQL's default of 100 slots runs out under a burst of waiting requests.
            ["-D", DataFolder, "-p", Port.ToString(), "-k", SocketFolder, "-c", "listen_addresses=127.0.0.1", "-c", "max_connections=400"]);
        return new ProcessSpec(file, arguments, Folder);
    }

    private protected override async Task<bool> IsReadyAsync(CancellationToken cancellationToken)
    {
        var result = await ExternalCommand.RunAsync(
            Bin("pg_isready"), ["-h", "127.0.0.1", "-p", Port.ToString(), "-t", "1", "-q"], cancellationToken);
        return result.Succeeded;
    }

    /// <summary>
    /// Idempotent, so it runs on every start: an interrupted first run heals itself, and the
    /// role's password always matches secrets.json. CREATEDB lets tests make scratch databases.
    /// </summary>
    private protected override async Task AfterReadyAsync(CancellationToken cancellationToken)
    {
        var sql = $"""
            SELECT 'CREATE ROLE {DatabaseName}' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{DatabaseName}')\gexec
            ALTER ROLE {DatabaseName} WITH LOGIN CREATEDB PASSWORD '{Password}';
            SELECT 'CREATE DATABASE {DatabaseName} OWNER {DatabaseName}' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{DatabaseName}')\gexec
            """;
        var result = await ExternalCommand.RunAsync(
            Bin("psql"),
            ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", Port.ToString(), "-U", OsUser, "-d", "postgres", "-f", "-"],
            cancellationToken,
            new Dictionary<string, string?> { ["PGPASSWORD"] = Context.Secrets.Get(SuperuserKey), ["PGCONNECT_TIMEOUT"] = "5" },
            standardInput: sql);
        if (!result.Succeeded)
        {
            throw new ResourceStartException(Name, $"creating role and database {DatabaseName} failed", result.Output.Split('\n'));
        }
    }

    private async Task InitialiseAsync(CancellationToken cancellationToken)
    {
        if (Directory.Exists(DataFolder))
        {
            Directory.Delete(DataFolder, recursive: true); // a first run that died half-way
        }

        // initdb reads the superuser password from a file; it lives only for the call.
        var passwordFile = Path.Combine(Folder, ".superuser-password");
        await OwnerOnlyFile.WriteAllTextAsync(passwordFile, Context.Secrets.Get(SuperuserKey), cancellationToken);
        try
        {
            if (Posix.IsRoot)
            {
                await ExternalCommand.RunAsync("chown", [$"{OsUser}:{OsUser}", passwordFile], cancellationToken);
            }

            var (file, arguments) = AsUser(OsUser, Bin("initdb"),
                ["-D", DataFolder, "-U", OsUser, $"--pwfile={passwordFile}", "--auth=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-instructions"]);
            Log.Append($"initdb {DataFolder}");
            var result = await ExternalCommand.RunAsync(file, arguments, cancellationToken, workingDirectory: Folder);
            if (!result.Succeeded)
            {
                throw new ResourceStartException(Name, "initdb failed", result.Output.Split('\n').TakeLast(20).ToArray());
            }
        }
        finally
        {
            File.Delete(passwordFile);
        }
    }

    /// <summary>The postgres user must own its folder and be able to walk down to it.</summary>
    private async Task GiveFolderToPostgresAsync(CancellationToken cancellationToken)
    {
        if (!OperatingSystem.IsWindows())
        {
            var mode = File.GetUnixFileMode(Context.DataRoot);
            File.SetUnixFileMode(Context.DataRoot, mode | UnixFileMode.OtherExecute | UnixFileMode.GroupExecute);
        }

        var result = await ExternalCommand.RunAsync("chown", ["-R", $"{OsUser}:{OsUser}", Folder], cancellationToken);
        if (!result.Succeeded)
        {
            throw new SetupException($"cannot give {Folder} to the {OsUser} user: {result.Output}");
        }
    }

    /// <summary>Runs a tool as the given user when we are root (setpriv execs in place, no wrapper process).</summary>
    private static (string FileName, List<string> Arguments) AsUser(string? user, string fileName, IEnumerable<string> arguments)
    {
        if (user is null || !Posix.IsRoot)
        {
            return (fileName, arguments.ToList());
        }

        return ("setpriv", [$"--reuid={user}", $"--regid={user}", "--init-groups", "--", fileName, .. arguments]);
    }

    private string Bin(string tool) => Path.Combine(Context.Options.Binaries.PostgresBin, tool);
}
