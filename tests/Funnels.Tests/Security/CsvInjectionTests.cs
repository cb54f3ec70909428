using System.Net.Http.Json;
using System.Text;
using Funnels.Tests.Infrastructure;

namespace Funnels.Tests.Security;

/// <summary>
/// Public submitters choose both the values and the column names of a funnel's CSV export: no cell
/// may start with a character a spreadsheet reads as a formula (OWASP: prefix a single quote).
/// </summary>
[Collection(ServicesCollection.Name)]
public sealed class CsvInjectionTests(Hosts hosts)
{
    private static readonly string[] Dangerous = ["=", "+", "-", "@", "\t", "\r"];

    private CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Values_and_field_names_starting_with_a_formula_character_are_neutralised()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var funnel = await TestFunnel.PublishAsync(workspace);
        var payloads = new Dictionary<string, string>
        {
            ["calc"] = "-2+3+cmd|' /C calc'!A0",
            ["plus"] = "+1+cmd|x!A0",
            ["eq"] = "=HYPERLINK(\"https://evil.example\",\"click\")",
            ["at"] = "@SUM(1+1)*cmd|' /C calc'!A0",
            ["tab"] = "\t=1+1",
            ["cr"] = "\r=1+1",
            ["minus_digit"] = "-5",
        };
        var formData = new Dictionary<string, object> { ["email"] = "csv@example.com", ["accept"] = true };
        foreach (var (name, value) in payloads)
        {
            formData[name] = value;
        }
        foreach (var (c, i) in Dangerous.Select((c, i) => (c, i)))
        {
            formData[$"{c}col{i}"] = "plain";
        }
        var posted = await funnel.PostAsync("FORM_SUBMIT", new { page_id = "signup", form_data = formData });
        Assert.True(posted.IsSuccessStatusCode, await posted.Content.ReadAsStringAsync(Cancel));

        var csv = await workspace.Runtime.GetStringAsync($"/api/runtime/funnels/{funnel.Id}/leads.csv", Cancel);
        var rows = Parse(csv);

        Assert.Equal(2, rows.Count);
        var header = rows[0];
        var row = rows[1];
        Assert.All(rows.SelectMany(r => r), cell => Assert.False(cell.Length > 0 && Dangerous.Contains(cell[..1]), $"cell {Show(cell)} starts a formula"));
        foreach (var (name, value) in payloads)
        {
            Assert.Equal("'" + value, row[header.IndexOf(name)]);
        }
        foreach (var (c, i) in Dangerous.Select((c, i) => (c, i)))
        {
            Assert.Contains($"'{c}col{i}", header);
        }
        Assert.Equal("csv@example.com", row[header.IndexOf("email")]);
    }

    private static string Show(string cell) => cell.Replace("\t", "\\t").Replace("\r", "\\r");

    /// <summary>RFC 4180: fields separated by commas, records by CRLF or LF, quoted fields may hold both and "" for a quote.</summary>
    private static List<List<string>> Parse(string csv)
    {
        var rows = new List<List<string>>();
        var row = new List<string>();
        var cell = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < csv.Length; i++)
        {
            var c = csv[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < csv.Length && csv[i + 1] == '"') { cell.Append('"'); i++; }
                else if (c == '"') quoted = false;
                else cell.Append(c);
            }
            else if (c == '"' && cell.Length == 0) quoted = true;
            else if (c == ',') { row.Add(cell.ToString()); cell.Clear(); }
            else if (c is '\n' or '\r')
            {
                if (c == '\r' && i + 1 < csv.Length && csv[i + 1] == '\n') i++;
                row.Add(cell.ToString()); cell.Clear();
                rows.Add(row); row = [];
            }
            else cell.Append(c);
        }
        if (cell.Length > 0 || row.Count > 0) { row.Add(cell.ToString()); rows.Add(row); }
        return rows;
    }
}
