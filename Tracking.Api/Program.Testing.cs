// Makes Program visible to tests (WebApplicationFactory) and names the handlers assembly.
public partial class Program;
