using System.Globalization;
using System.Security.Claims;
using System.Text;
using System.Text.Json;
using Dapper;
using Funnels.ServiceDefaults.Security;
using Npgsql;

namespace Funnels.Runtime.Leads;

/// <summary>A funnel's leads as CSV, streamed row by row (no limit on how many), one column per form field seen.</summary>
public static class LeadsCsv
{
    public static async Task<IResult> Export(Guid id, ClaimsPrincipal user, NpgsqlDataSource db, HttpResponse response, CancellationToken ct)
    {
        await using var connection = await db.OpenConnectionAsync(ct);
        var funnel = await connection.QuerySingleOrDefaultAsync<string>(
            "SELECT slug FROM runtime.funnels WHERE id = @id AND workspace_id = @workspace", new { id, workspace = user.WorkspaceIdOf() });
        if (funnel is null)
        {
            return TypedResults.NotFound();
        }
        var fields = (await connection.QueryAsync<string>(
            "SELECT DISTINCT jsonb_object_keys(form_data) AS key FROM runtime.leads WHERE funnel_id = @id ORDER BY key", new { id })).ToList();

        response.ContentType = "text/csv; charset=utf-8";
        response.Headers.ContentDisposition = $"attachment; filename=\"{funnel}-leads.csv\"";
        // RFC 4180 ends records with CRLF.
        await using var writer = new StreamWriter(response.Body, new UTF8Encoding(false)) { NewLine = "\r\n" };
        await writer.WriteLineAsync(Line(["id", "created_at", "email", "phone", "visitor_id", "status", "current_page_id", .. fields]));

        await using var command = new NpgsqlCommand("""
            SELECT l.id, l.created_at, l.email, l.phone, l.visitor_id, s.status, s.current_page_id, l.form_data::text
            FROM runtime.leads l JOIN runtime.lead_states s ON s.lead_id = l.id WHERE l.funnel_id = @id ORDER BY l.created_at, l.id
            """, connection);
        command.Parameters.AddWithValue("id", id);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            using var form = JsonDocument.Parse(reader.GetString(7));
            var values = fields.Select(f => form.RootElement.TryGetProperty(f, out var v) ? Text(v) : "");
            await writer.WriteLineAsync(Line([
                reader.GetGuid(0).ToString(), reader.GetDateTime(1).ToString("O", CultureInfo.InvariantCulture),
                reader.IsDBNull(2) ? "" : reader.GetString(2), reader.IsDBNull(3) ? "" : reader.GetString(3),
                reader.IsDBNull(4) ? "" : reader.GetString(4), reader.GetString(5), reader.GetString(6), .. values]));
        }
        return TypedResults.Empty;
    }

    private static string Text(JsonElement value) => value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText();

    private static string Line(IEnumerable<string> cells) => string.Join(',', cells.Select(Escape));

    /// <summary>
    /// RFC 4180 quoting, after neutralising cells a spreadsheet would run as a formula: a cell
    /// starting with = + - @, a tab or a carriage return gets a leading single quote (OWASP's advice).
    /// Numbers are no exception ("-2+3+cmd|..." starts with a digit after the sign): public
    /// submitters choose both the values and the column names.
    /// </summary>
    public static string Escape(string cell)
    {
        if (cell.Length > 0 && cell[0] is '=' or '+' or '-' or '@' or '\t' or '\r')
        {
            cell = "'" + cell;
        }
        return cell.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? $"\"{cell.Replace("\"", "\"\"")}\"" : cell;
    }
}
