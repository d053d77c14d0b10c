using ModelForge.Core.Diagnostics;
using ModelForge.TorchScript.Archive;
using ModelForge.TorchScript.Pickle;
using ModelForge.TorchScript.Script;

namespace ModelForge.TorchScript.Module;

/// <summary>
/// A loaded TorchScript model: the module tree from <c>data.pkl</c>, the constants table, and the class
/// definitions from <c>code/</c>, parsed on first use. Owns the archive, whose mapped memory backs the weights.
/// </summary>
public sealed class TorchScriptModel : IDisposable
{
    private readonly Dictionary<string, ScriptFile> _files = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DebugTable?> _debugTables = new(StringComparer.Ordinal);

    private TorchScriptModel(TorchScriptArchive archive, PickleObject root, IReadOnlyList<object?> constants)
    {
        Archive = archive; Root = root; Constants = constants;
    }

    public TorchScriptArchive Archive { get; }
    public PickleObject Root { get; }
    public IReadOnlyList<object?> Constants { get; }

    public static TorchScriptModel Load(string path)
    {
        var archive = TorchScriptArchive.Open(path);
        try
        {
            var root = archive.LoadPickle("data.pkl") as PickleObject
                ?? throw new ModelForgeException(DiagnosticCode.NotTorchScript,
                    $"data.pkl in '{path}' does not hold a TorchScript module object",
                    new SourceLocation(path), "save the model with torch.jit.trace or torch.jit.script followed by torch.jit.save");
            var constants = archive.Contains("constants.pkl") && archive.LoadPickle("constants.pkl") is PickleTuple tuple
                ? tuple.Items : Array.Empty<object?>();
            return new TorchScriptModel(archive, root, constants);
        }
        catch
        {
            archive.Dispose();
            throw;
        }
    }

    /// <summary>The archive-relative source file that defines <paramref name="qualifiedClassName"/>.</summary>
    public static string SourcePathOf(string qualifiedClassName)
    {
        var lastDot = qualifiedClassName.LastIndexOf('.');
        return "code/" + qualifiedClassName[..lastDot].Replace('.', '/') + ".py";
    }

    /// <summary>The class <c>__torch__.a.b.Name</c>, from <c>code/__torch__/a/b.py</c>.</summary>
    public ClassDef ResolveClass(string qualifiedClassName)
    {
        var path = SourcePathOf(qualifiedClassName);
        var className = qualifiedClassName[(qualifiedClassName.LastIndexOf('.') + 1)..];
        return ParseFile(path, qualifiedClassName).Classes.FirstOrDefault(c => c.Name == className)
            ?? throw new ModelForgeException(DiagnosticCode.ScriptClassMissing,
                $"class '{qualifiedClassName}' is not defined in {path}",
                new SourceLocation($"{Archive.FilePath}!/{path}"), "the archive is incomplete or was edited; save the model again with torch.jit.save");
    }

    /// <summary>The free function <c>__torch__.a.b.name</c> (scripted code calls e.g. <c>__torch__.torch.nn.functional.layer_norm</c>), or null.</summary>
    public FunctionDef? ResolveFunction(string qualifiedName)
    {
        var lastDot = qualifiedName.LastIndexOf('.');
        if (lastDot <= 0) return null;
        var path = SourcePathOf(qualifiedName);
        if (!_files.ContainsKey(path) && !Archive.Contains(path)) return null;
        var name = qualifiedName[(lastDot + 1)..];
        return ParseFile(path, qualifiedName).Functions.FirstOrDefault(f => f.Name == name);
    }

    private ScriptFile ParseFile(string path, string forClass)
    {
        if (_files.TryGetValue(path, out var file)) return file;
        if (!Archive.Contains(path))
            throw new ModelForgeException(DiagnosticCode.ScriptClassMissing,
                $"the archive has no source file {path} for class '{forClass}'",
                new SourceLocation(Archive.FilePath), "the archive is incomplete or was edited; save the model again with torch.jit.save");
        var text = System.Text.Encoding.UTF8.GetString(Archive.Read(path).Span);
        file = ScriptParser.Parse(text, path);
        _files[path] = file;
        return file;
    }

    /// <summary>The <c>.debug_pkl</c> source-range table for a code file, or null when the archive has none.</summary>
    public DebugTable? DebugTableFor(string codePath)
    {
        if (_debugTables.TryGetValue(codePath, out var table)) return table;
        var debugPath = codePath + ".debug_pkl";
        try
        {
            table = Archive.Contains(debugPath) ? DebugTable.Parse(Archive.LoadPickle(debugPath)) : null;
        }
        catch (ModelForgeException)
        {
            table = null; // debug tables only improve messages; a damaged one must not stop a conversion
        }
        _debugTables[codePath] = table;
        return table;
    }

    /// <summary>
    /// Every operator the serialized code calls by its qualified name, <c>ops.NAMESPACE.name(…)</c> (e.g.
    /// <c>torchvision::nms</c>, <c>prim::RaiseException</c>), once each, in file and source order, with where it is first
    /// called: what a runtime must provide before it can load the archive. Read from tokens, so strings and comments do not count.
    /// </summary>
    public IReadOnlyList<(string Operator, SourceLocation Location)> QualifiedOperatorCalls() =>
        QualifiedOperatorCallSites().DistinctBy(call => call.Operator).Select(call => (call.Operator, Locate(call.Span))).ToList();

    /// <summary>
    /// Every call site of <see cref="QualifiedOperatorCalls"/>, in file and source order; each span covers the callee's
    /// name, <c>ops.NAMESPACE.name</c>, in the code file's text.
    /// </summary>
    public IReadOnlyList<(string Operator, SourceSpan Span)> QualifiedOperatorCallSites()
    {
        var calls = new List<(string, SourceSpan)>();
        foreach (var path in Archive.CodeFiles.Order(StringComparer.Ordinal))
        {
            var tokens = ScriptLexer.Tokenize(System.Text.Encoding.UTF8.GetString(Archive.Read(path).Span), path);
            for (var i = 0; i + 4 < tokens.Count; i++)
            {
                if (tokens[i] is not { Kind: TokenKind.Name, Text: "ops" } || tokens[i + 1].Text != "." || tokens[i + 2].Kind != TokenKind.Name
                    || tokens[i + 3].Text != "." || tokens[i + 4].Kind != TokenKind.Name || (i > 0 && tokens[i - 1].Text == "."))
                    continue;
                calls.Add(($"{tokens[i + 2].Text}::{tokens[i + 4].Text}",
                    new SourceSpan(path, tokens[i].Line, tokens[i].Column, tokens[i].Start, tokens[i + 4].End - tokens[i].Start)));
            }
        }
        return calls;
    }

    /// <summary>Where a span of serialized code is, with the original Python source line when the debug table has it.</summary>
    public SourceLocation Locate(SourceSpan span) =>
        new($"{Archive.FilePath}!/{span.File}", span.Line, span.Column, DebugTableFor(span.File)?.PythonSourceAt(span.Offset));

    public void Dispose() => Archive.Dispose();
}
