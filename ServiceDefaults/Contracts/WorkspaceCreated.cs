namespace Funnels.Contracts;

/// <summary>
/// Runtime.Api, which owns workspaces, created one (through its outbox; at start it also
/// announces workspaces it never announced: the default one from configuration and those made
/// before this message existed). Tracking.Api keeps the ids its public endpoints accept from it.
/// Workspaces are never renamed or removed today; when they are, a sibling message belongs here.
/// </summary>
public sealed record WorkspaceCreated(Guid WorkspaceId, string Slug, string Name, DateTimeOffset CreatedAt);
