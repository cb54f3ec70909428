using System.Text.RegularExpressions;

namespace Funnels.Runtime.Funnels;

/// <summary>
/// Checks a schema when it is saved, so a published funnel can always be followed: ids are
/// unique, transitions name real pages and events, every page is reachable from the start,
/// and every pattern compiles. Each error carries the JSON path of what is wrong.
/// </summary>
public static class FunnelSchemaValidator
{
    private static readonly Regex Identifier = new("^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$", RegexOptions.Compiled);

    public static IReadOnlyList<SchemaError> Validate(FunnelSchema schema)
    {
        var errors = new List<SchemaError>();
        if (schema.Pages.Count == 0)
        {
            errors.Add(new("pages", "a funnel needs at least one page"));
            return errors;
        }

        var pageIds = new HashSet<string>();
        for (var i = 0; i < schema.Pages.Count; i++)
        {
            var page = schema.Pages[i];
            var path = $"pages[{i}]";
            if (!Identifier.IsMatch(page.Id))
            {
                errors.Add(new($"{path}.id", "must be 1-64 letters, digits, '-' or '_'"));
            }
            else if (!pageIds.Add(page.Id))
            {
                errors.Add(new($"{path}.id", $"duplicate page id '{page.Id}'"));
            }
            ValidateFields(page, path, errors);
        }

        if (schema.StartPageId is { } start && !pageIds.Contains(start))
        {
            errors.Add(new("start_page_id", $"unknown page '{start}'"));
        }

        for (var i = 0; i < schema.Transitions.Count; i++)
        {
            var transition = schema.Transitions[i];
            var path = $"transitions[{i}]";
            if (!pageIds.Contains(transition.From))
            {
                errors.Add(new($"{path}.from", $"unknown page '{transition.From}'"));
            }
            if (!pageIds.Contains(transition.To))
            {
                errors.Add(new($"{path}.to", $"unknown page '{transition.To}'"));
            }
            if (!FunnelEventTypes.All.Contains(transition.On))
            {
                errors.Add(new($"{path}.on", $"unknown event type '{transition.On}'; expected one of {string.Join(", ", FunnelEventTypes.All)}"));
            }
            if (transition.When is { } when)
            {
                ValidateCondition(schema, transition, when, $"{path}.when", errors);
            }
        }

        if (errors.Count == 0)
        {
            foreach (var unreachable in Unreachable(schema))
            {
                var index = schema.Pages.ToList().FindIndex(p => p.Id == unreachable);
                errors.Add(new($"pages[{index}]", $"page '{unreachable}' cannot be reached from the start page '{schema.EntryPageId}'"));
            }
        }
        return errors;
    }

    private static void ValidateFields(FunnelPage page, string pagePath, List<SchemaError> errors)
    {
        var names = new HashSet<string>();
        for (var j = 0; j < page.Fields.Count; j++)
        {
            var field = page.Fields[j];
            var path = $"{pagePath}.fields[{j}]";
            if (!Identifier.IsMatch(field.Name))
            {
                errors.Add(new($"{path}.name", "must be 1-64 letters, digits, '-' or '_'"));
            }
            else if (!names.Add(field.Name))
            {
                errors.Add(new($"{path}.name", $"duplicate field '{field.Name}' on page '{page.Id}'"));
            }
            if (field.MaxLength is <= 0 or > 10_000)
            {
                errors.Add(new($"{path}.max_length", "must be between 1 and 10000"));
            }
            if (field.Pattern is { } pattern)
            {
                try
                {
                    _ = new Regex(pattern, RegexOptions.None, TimeSpan.FromMilliseconds(100));
                }
                catch (ArgumentException ex)
                {
                    errors.Add(new($"{path}.pattern", $"not a valid regular expression: {ex.Message}"));
                }
            }
        }
        if (page.Fields.Count > 0 && page.Kind != PageKind.Form)
        {
            errors.Add(new($"{pagePath}.fields", $"only form pages have fields ('{page.Id}' is a {page.Kind} page)"));
        }
    }

    private static void ValidateCondition(FunnelSchema schema, FunnelTransition transition, TransitionCondition when, string path, List<SchemaError> errors)
    {
        var tests = new object?[] { when.EqualTo, when.NotEqualTo, when.In, when.Exists }.Count(t => t is not null);
        if (tests != 1)
        {
            errors.Add(new(path, "needs exactly one of equals, not_equals, in, exists"));
        }
        var fields = schema.Page(transition.From)?.Fields ?? [];
        if (fields.Count > 0 && fields.All(f => f.Name != when.Field))
        {
            errors.Add(new($"{path}.field", $"page '{transition.From}' has no field '{when.Field}'"));
        }
    }

    private static IEnumerable<string> Unreachable(FunnelSchema schema)
    {
        var reached = new HashSet<string> { schema.EntryPageId };
        var queue = new Queue<string>(reached);
        while (queue.TryDequeue(out var page))
        {
            foreach (var next in schema.Transitions.Where(t => t.From == page).Select(t => t.To))
            {
                if (reached.Add(next))
                {
                    queue.Enqueue(next);
                }
            }
        }
        return schema.Pages.Select(p => p.Id).Where(id => !reached.Contains(id));
    }
}

public sealed record SchemaError(string Path, string Message);
