// Makes Program visible to tests (WebApplicationFactory).
public partial class Program;
