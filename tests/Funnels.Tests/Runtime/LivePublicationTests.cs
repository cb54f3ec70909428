extern alias runtime;
using System.Net;
using System.Net.Http.Json;
using Funnels.Tests.Infrastructure;
using PublishedFunnels = runtime::Funnels.Runtime.Events.PublishedFunnels;

namespace Funnels.Tests.Runtime;

/// <summary>
/// The live publication behind a slug is kept in process for a few seconds: a change made through
/// this instance is seen at once, a change made through another instance within that time.
/// </summary>
[Collection(ServicesCollection.Name)]
public sealed class LivePublicationTests(Hosts hosts)
{
    private CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Unpublishing_through_this_instance_stops_events_at_once_even_right_after_one_was_accepted()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var funnel = await TestFunnel.PublishAsync(workspace);
        var before = await funnel.PostAsync("FORM_SUBMIT", TestFunnel.Signup("first@example.com"));

        (await workspace.Runtime.PostAsync($"/api/runtime/funnels/{funnel.Id}/unpublish", null, Cancel)).EnsureSuccessStatusCode();
        var after = await funnel.PostAsync("FORM_SUBMIT", TestFunnel.Signup("second@example.com"));

        Assert.Equal(HttpStatusCode.Accepted, before.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, after.StatusCode);
        Assert.Equal(1, await hosts.Servers.CountAsync("SELECT count(*) FROM runtime.leads WHERE workspace_id = @Id", new { workspace.Id }));
    }

    [Fact]
    public async Task A_changed_slug_answers_404_at_once_and_the_new_one_takes_events()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var funnel = await TestFunnel.PublishAsync(workspace);
        Assert.Equal(HttpStatusCode.Accepted, (await funnel.PostAsync("PAGE_VIEW", new { page_id = "landing" })).StatusCode);

        var renamed = funnel.Slug + "-new";
        (await workspace.Runtime.PutAsJsonAsync($"/api/runtime/funnels/{funnel.Id}",
            new { name = "Test funnel", slug = renamed, schema = TestFunnel.ThreeStepSchema(), allowed_origins = Array.Empty<string>() }, TestWorkspace.Json, Cancel))
            .EnsureSuccessStatusCode();
        var old = await funnel.PostAsync("FORM_SUBMIT", TestFunnel.Signup("old@example.com"));
        var current = await new TestFunnel(workspace, funnel.Id, renamed).PostAsync("FORM_SUBMIT", TestFunnel.Signup("new@example.com"));

        Assert.Equal(HttpStatusCode.NotFound, old.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, current.StatusCode);
    }

    [Fact]
    public async Task Unpublished_through_another_instance_the_slug_stops_taking_events_once_the_cached_copy_expires()
    {
        using var workspace = await TestWorkspace.CreateAsync(hosts);
        var funnel = await TestFunnel.PublishAsync(workspace);
        Assert.Equal(HttpStatusCode.Accepted, (await funnel.PostAsync("PAGE_VIEW", new { page_id = "landing" })).StatusCode);

        // What an unpublish through another instance leaves behind: the row changed, this instance not told.
        await hosts.Servers.ScalarAsync<Guid>("UPDATE runtime.funnels SET live_publication_id = NULL WHERE id = @Id RETURNING id", new { funnel.Id });

        var accepted = 0;
        await Eventually.Until(async () =>
        {
            var response = await funnel.PostAsync("FORM_SUBMIT", TestFunnel.Signup($"p{accepted}@example.com"));
            if (response.StatusCode == HttpStatusCode.Accepted)
            {
                accepted++;
                return null;
            }
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            return (bool?)true;
        }, PublishedFunnels.CacheFor * 6, "the unpublished slug to answer 404");

        // Once it answers 404 it keeps doing so, and only what was accepted before was kept.
        Assert.Equal(HttpStatusCode.NotFound, (await funnel.PostAsync("FORM_SUBMIT", TestFunnel.Signup("late@example.com"))).StatusCode);
        Assert.Equal(accepted, await hosts.Servers.CountAsync("SELECT count(*) FROM runtime.leads WHERE workspace_id = @Id", new { workspace.Id }));
    }
}
