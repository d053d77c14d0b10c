namespace ModelForge.Package;

/// <summary>A file that goes into a bundle: where it comes from, and its path inside the bundle ('/'-separated, relative).</summary>
public sealed record BundleFile(string SourcePath, string EntryName);
