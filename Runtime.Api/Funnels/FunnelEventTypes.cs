namespace Funnels.Runtime.Funnels;

/// <summary>The public event types browsers post, spelled as the existing funnel frontends send them.</summary>
public static class FunnelEventTypes
{
    public const string PageView = "PAGE_VIEW";
    public const string FormSubmit = "FORM_SUBMIT";
    public const string Click = "CLICK";
    public const string Purchase = "PURCHASE";

    public static readonly IReadOnlySet<string> All = new HashSet<string>([PageView, FormSubmit, Click, Purchase]);
}
