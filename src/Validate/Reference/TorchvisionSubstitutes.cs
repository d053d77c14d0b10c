using System.IO.Compression;
using System.Reflection;
using System.Text;
using ModelForge.TorchScript.Module;
using ModelForge.TorchScript.Script;

namespace ModelForge.Validate.Reference;

/// <summary>
/// torchvision's operators for the native reference, whose libtorch has PyTorch's own operators only: a private copy of
/// the archive in which every <c>ops.torchvision.NAME(…)</c> call goes to <c>NAME</c> in <c>torchvision_ops.py</c>,
/// TorchScript versions of torchvision's CPU kernels written with aten ops (checked against real torchvision by
/// <c>fixtures/validate/torchvision_ops</c> and <c>deform_conv2d_ops</c>). The user's archive is never changed.
/// </summary>
internal static class TorchvisionSubstitutes
{
    /// <summary>The module the substitutes are added as; torchvision_ops.py calls its own helpers by this name too.</summary>
    private const string ModuleName = "__torch__.modelforge_torchvision_ops";
    private const string ModulePath = "code/__torch__/modelforge_torchvision_ops.py";
    private const string Namespace = "torchvision";

    private static readonly Lazy<string> Source = new(() =>
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("torchvision_ops.py")
            ?? throw new InvalidOperationException("ModelForge.Validate was built without its torchvision_ops.py resource");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    });

    /// <summary>The operators with a substitute (<c>torchvision::nms</c>, …): the file's functions whose names do not start with '_'.</summary>
    public static IReadOnlySet<string> Operators { get; } = ScriptParser.Parse(Source.Value, ModulePath).Functions
        .Where(f => !f.Name.StartsWith('_')).Select(f => $"{Namespace}::{f.Name}").ToHashSet(StringComparer.Ordinal);

    /// <summary>Whether <paramref name="path"/> (archive-relative, as libtorch names it in errors) is the substitutes' module.</summary>
    public static bool IsSubstituteFile(string path) => path == ModulePath;

    /// <summary>
    /// Writes the archive with each of <paramref name="calls"/> (sites of <see cref="Operators"/>) going to its substitute,
    /// to a new file only the current user can read, and returns its path: the caller deletes it once libtorch has loaded it.
    /// A rewritten code file loses its <c>.debug_pkl</c>, whose source offsets would no longer match; lines stay where they were.
    /// </summary>
    public static string WriteSubstitutedCopy(TorchScriptModel model, IReadOnlyList<(string Operator, SourceSpan Span)> calls)
    {
        var archive = model.Archive;
        var rewritten = calls.GroupBy(c => c.Span.File).ToDictionary(g => g.Key,
            g => Substitute(Encoding.UTF8.GetString(archive.Read(g.Key).Span), g.Select(c => c.Span)), StringComparer.Ordinal);
        var path = Path.Combine(Path.GetTempPath(), $"modelforge-reference-{Guid.NewGuid():N}.pt");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        try
        {
            using var stream = new FileStream(path, options);
            using var zip = new ZipArchive(stream, ZipArchiveMode.Create);
            foreach (var name in archive.EntryNames)
            {
                if (name.EndsWith(".debug_pkl", StringComparison.Ordinal) && rewritten.ContainsKey(name[..^".debug_pkl".Length])) continue;
                Add(zip, archive.RootFolder, name, rewritten.TryGetValue(name, out var text) ? Encoding.UTF8.GetBytes(text) : archive.Read(name).Span);
            }
            Add(zip, archive.RootFolder, ModulePath, Encoding.UTF8.GetBytes(Source.Value));
        }
        catch
        {
            File.Delete(path);
            throw;
        }
        return path;
    }

    private static string Substitute(string code, IEnumerable<SourceSpan> callees)
    {
        var text = new StringBuilder(code);
        foreach (var callee in callees.OrderByDescending(s => s.Offset))
        {
            var name = code.Substring(callee.Offset, callee.Length);
            text.Remove(callee.Offset, callee.Length).Insert(callee.Offset, ModuleName + name[name.LastIndexOf('.')..]);
        }
        return text.ToString();
    }

    private static void Add(ZipArchive zip, string root, string name, ReadOnlySpan<byte> data)
    {
        using var entry = zip.CreateEntry($"{root}/{name}", CompressionLevel.NoCompression).Open();
        entry.Write(data);
    }
}
