using Funnels.Admin.Api;
using Microsoft.AspNetCore.Mvc;
using Refit;

namespace Funnels.Admin.Pages.Channels;

/// <summary>
/// The Channels page's sending side, from Messaging.Worker: channels whose sending is paused
/// (Meta refused the token: the reason, the queued messages, a resume button for owners) and
/// Meta's asynchronous errors[] notifications with their codes. A component of its own so the
/// page's form (Runtime.Api's channels) stays as it is.
/// </summary>
public sealed class ChannelSendingViewComponent(IChannelSendingApi worker, ILogger<ChannelSendingViewComponent> logger) : ViewComponent
{
    public sealed record Sending(List<ChannelSending>? Channels, PagedList<ChannelErrorNotice>? Errors);

    public async Task<IViewComponentResult> InvokeAsync()
    {
        var ct = HttpContext.RequestAborted;
        try
        {
            var channels = worker.ChannelSendingAsync(ct);
            var errors = worker.ChannelErrorsAsync(1, 20, ct);
            return View(new Sending(await channels, await errors));
        }
        catch (Exception ex) when (ex is ApiException or HttpRequestException or TaskCanceledException)
        {
            logger.LogWarning(ex, "The channels' sending state could not be read from Messaging.Worker");
            return View(new Sending(null, null));
        }
    }
}
