using System.IO.Compression;
using System.Text;
using System.Text.Json;
using ModelForge.Convert;
using ModelForge.Convert.IR;
using ModelForge.Model;
using ModelForge.Pipeline.Spec;
using ModelForge.TorchScript.Archive;
using ModelForge.TorchScript.Pickle;
using ModelForge.TorchScript.Script;
using ModelForge.Model.Tensors;

namespace ModelForge.Fuzz;

/// <summary>One thing to fuzz: seeds, a dictionary, and an action that must succeed or throw ModelForgeException.</summary>
internal sealed record Target(string Name, bool ZipAware, IReadOnlyList<byte[]> Seeds, IReadOnlyList<byte[]> Dictionary, Action<byte[]> Run, string Extension);

internal static class Targets
{
    public static readonly string[] Names = ["archive", "unpickler", "script", "npy", "npz", "convert", "spec"];

    private static readonly string[] ScriptTokens =
    [
        "(", ")", "[", "]", "{", "}", ":", ",", ".", "=", "**", "*", "-", "~", "not ", " if ", " else ", " for ", " in ",
        "\n", "\n  ", "\n    ", "\t", "def f(self, x: Tensor) -> Tensor:\n    return x\n", "class C(Module):\n", "return ",
        "ops.prim.", "torch.", "self.", "0", "-1", "1e308", "0x7fffffffffffffff", "9223372036854775808", "1.5", "\"s\"",
        "'\\x'", "\"\"\"", "#", "\\\n", "None", "True", "annotate(List[int], [])", "uninitialized(Tensor)", "elif ", "while ",
        "pass", ";", "@", "->", "//", "%", ">>", "<<", "&", "|", "^", "!=", "==", "<=", "is not ", "(((((((((", ")))))))))",
        "[[[[[[[[", "\u00e9", "\ud83d\ude00", "\0", "\r", "\r\n",
    ];

    private static readonly string[] PickleTokens =
    [
        "\u0080\u0002", "(", ")", "]", "}", "t", "\u0085", "\u0086", "\u0087", "R", "b", "\u0081", "Q", "q\u0000", "h\u0000", "r\u0000\u0000\u0000\u0000",
        "j\u0000\u0000\u0000\u0000", "K\u0000", "M\u00ff\u00ff", "J\u00ff\u00ff\u00ff\u00ff", "\u008a\u0008", "G", "X\u0000\u0000\u0000\u0000", "\u008c\u0000", "\u0094",
        "e", "a", "s", "u", "N", "\u0088", "\u0089", "0", "1", "2", "c", "\u0093", "ctorch._utils\n_rebuild_tensor_v2\n",
        "ccollections\nOrderedDict\n", "cos\nsystem\n", "cbuiltins\neval\n", "ctorch\nFloatStorage\n", "c__torch__\nM\n",
        "ctorch.jit._pickle\nbuild_intlist\n", "ctorch.jit._pickle\nrestore_type_tag\n", ".", "\u0095\u0000\u0000\u0000\u0000\u0000\u0000\u0000\u0000",
    ];

    private static readonly string[] NpyTokens =
    [
        "\u0093NUMPY\u0001\u0000", "\u0093NUMPY\u0002\u0000", "\u0093NUMPY\u0003\u0000", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
        "'descr'", "'<f8'", "'|b1'", "'>i4'", "'<U4'", "'O'", "'fortran_order'", "True", "'shape'", "(", ")", ",", "()", "(0,)",
        "(1000000000, 1000000000)", "(-1,)", "9223372036854775807", "99999999999999999999", "[", "]", "{", "}", "\n", " ", "\\", "'", "\"",
    ];

    public static Target Create(string name, string repoRoot, string scratchDir) => name switch
    {
        "archive" => Archive(repoRoot, scratchDir),
        "unpickler" => Unpickler(repoRoot),
        "script" => Script(repoRoot),
        "npy" => NpyTarget(repoRoot),
        "npz" => NpzTarget(repoRoot),
        "convert" => ConvertTarget(repoRoot, scratchDir),
        "spec" => SpecTarget(repoRoot, scratchDir),
        _ => throw new ArgumentException($"unknown target '{name}' (use {string.Join(", ", Names)} or all)"),
    };

    // ---- seeds -------------------------------------------------------------------------------------------

    /// <summary>Every TorchScript fixture archive: fixtures/ops/*/model.pt, fixtures/archives/*.pt, fixtures/diagnostics/*.pt.</summary>
    private static List<string> ArchivePaths(string root)
    {
        var fixtures = Path.Combine(root, "fixtures");
        var paths = new List<string>();
        foreach (var dir in new[] { "ops", "archives", "diagnostics" })
        {
            var folder = Path.Combine(fixtures, dir);
            if (Directory.Exists(folder))
                paths.AddRange(Directory.EnumerateFiles(folder, "*.pt", SearchOption.AllDirectories));
        }
        paths.Sort(StringComparer.Ordinal);
        return paths;
    }

    /// <summary>Entries of the fixture archives whose names match (data.pkl, code/*.py), read with System.IO.Compression.</summary>
    private static List<byte[]> ArchiveEntries(string root, Func<string, bool> match)
    {
        var result = new List<byte[]>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var path in ArchivePaths(root))
        {
            using var zip = ZipFile.OpenRead(path);
            foreach (var entry in zip.Entries.OrderBy(e => e.FullName, StringComparer.Ordinal))
            {
                if (!match(entry.FullName)) continue;
                using var stream = entry.Open();
                using var copy = new MemoryStream();
                stream.CopyTo(copy);
                var bytes = copy.ToArray();
                if (seen.Add(System.Convert.ToBase64String(bytes))) result.Add(bytes);
            }
        }
        return result;
    }

    private static readonly string[] SpecTokens =
    [
        "{", "}", "[", "]", ":", ",", "\"", "\\", "\\u0000", "//", "/*", "*/", "null", "true", "false", "0", "-1", "1e999", "1.5",
        "9223372036854775808", "\"source\"", "\"inputs\"", "\"name\"", "\"dtype\"", "\"shape\"", "\"batch\"", "\"dims\"", "\"min\"",
        "\"opt\"", "\"max\"", "\"onnx\"", "\"opset\"", "\"optimize\"", "\"tensorrt\"", "\"precision\"", "\"validate\"",
        "\"ranges\"", "\"outputs\"", "\"package\"", "\"torchserve\"", "\"triton\"", "\"kserve\"", "\"storageUri\"",
        "\"extraFiles\"", "\"handler\"", "\"output\"", "\"../../etc/passwd\"", "\"/\"", "\"float32\"", "\"int64\"", "\"fp16\"",
        "[[[[[[[[[[[[[[[[", "]]]]]]]]]]]]]]]]", "\ufeff", "\u00e9",
    ];

    private static List<byte[]> Tokens(IEnumerable<string> tokens, Encoding encoding) => tokens.Select(encoding.GetBytes).ToList();

    private static List<string> DataFilePaths(string root, string extension)
    {
        var paths = new List<string>();
        foreach (var dir in new[] { Path.Combine(root, "tests", "Validate.Tests", "Tensors", "TestData"), Path.Combine(root, "fixtures", "archives") })
        {
            if (Directory.Exists(dir)) paths.AddRange(Directory.EnumerateFiles(dir, "*" + extension));
        }
        paths.Sort(StringComparer.Ordinal);
        return paths;
    }

    // ---- targets -----------------------------------------------------------------------------------------

    private static Target Archive(string root, string scratch)
    {
        var file = Path.Combine(scratch, "archive-input.pt");
        var seeds = ArchivePaths(root).Select(File.ReadAllBytes).ToList();
        return new Target("archive", true, seeds, Tokens(PickleTokens, Encoding.Latin1), bytes =>
        {
            File.WriteAllBytes(file, bytes);
            using var archive = TorchScriptArchive.Open(file);
            foreach (var entry in archive.EntryNames) _ = archive.Read(entry).Length;
            _ = archive.LoadPickle("data.pkl");
            if (archive.Contains("constants.pkl")) _ = archive.LoadPickle("constants.pkl");
            foreach (var code in archive.CodeFiles)
                ScriptParser.Parse(Encoding.UTF8.GetString(archive.Read(code).Span), code);
        }, ".pt");
    }

    private static Target Unpickler(string root)
    {
        var seeds = ArchiveEntries(root, n => n.EndsWith(".pkl", StringComparison.Ordinal));
        return new Target("unpickler", false, seeds, Tokens(PickleTokens, Encoding.Latin1), bytes =>
        {
            TorchUnpickler.Load(bytes, "data.pkl", (key, type, count) =>
            {
                // Small fake storages: the declared count when it is small, so tensors can be rebuilt; otherwise
                // a mismatching buffer, which TensorStorage must refuse with MF1012.
                var size = ElementSize(type);
                var length = count is >= 0 and <= 4096 ? count * size : 16;
                return new TensorStorage(key, type, count, new byte[length]);
            });
        }, ".pkl");
    }

    private static long ElementSize(DataType type)
    {
        try { return type.SizeInBytes(); }
        catch (ArgumentOutOfRangeException) { return 1; }
    }

    private static Target Script(string root)
    {
        var seeds = ArchiveEntries(root, n => n.EndsWith(".py", StringComparison.Ordinal));
        return new Target("script", false, seeds, Tokens(ScriptTokens, Encoding.UTF8),
            bytes => ScriptParser.Parse(Encoding.UTF8.GetString(bytes), "code/__torch__/fuzz.py"), ".py");
    }

    private static Target NpyTarget(string root)
    {
        var seeds = DataFilePaths(root, ".npy").Select(File.ReadAllBytes).ToList();
        return new Target("npy", false, seeds, Tokens(NpyTokens, Encoding.Latin1), bytes => Npy.Read(bytes, "fuzz.npy"), ".npy");
    }

    private static Target NpzTarget(string root)
    {
        var seeds = DataFilePaths(root, ".npz").Select(File.ReadAllBytes).ToList();
        // np.savez of a few npy seeds as well, so there are more than two zips to splice.
        var npys = DataFilePaths(root, ".npy").Take(6).ToList();
        using (var stream = new MemoryStream())
        {
            using (var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true))
            {
                foreach (var npy in npys)
                {
                    var entry = zip.CreateEntry(Path.GetFileName(npy), CompressionLevel.Optimal);
                    using var s = entry.Open();
                    s.Write(File.ReadAllBytes(npy));
                }
            }
            seeds.Add(stream.ToArray());
        }
        return new Target("npz", true, seeds, Tokens(NpyTokens, Encoding.Latin1), bytes =>
        {
            using var stream = new MemoryStream(bytes, writable: false);
            Npz.Read(stream, "fuzz.npz");
        }, ".npz");
    }

    /// <summary>
    /// The model spec reader (JSON, schema, consistency checks), seeded with the example and sample specs whose
    /// <c>source</c> is made absolute so the seeds get past the file check.
    /// </summary>
    private static Target SpecTarget(string root, string scratch)
    {
        var model = Path.Combine(root, "fixtures", "models", "resnet18_small", "model.pt");
        var seeds = new[] { Path.Combine(root, "examples", "resnet18", "resnet18.modelforge.json"), Path.Combine(root, "tests", "MSBuild.Tests", "Sample", "models", "resnet.modelforge.json") }
            .Where(File.Exists)
            .Select(path => System.Text.RegularExpressions.Regex.Replace(File.ReadAllText(path), "\"source\": \"[^\"]*\"", "\"source\": " + JsonSerializer.Serialize(model)))
            .Select(Encoding.UTF8.GetBytes)
            .ToList();
        var specPath = Path.Combine(scratch, "fuzz.modelforge.json");
        return new Target("spec", false, seeds, Tokens(SpecTokens, Encoding.UTF8), bytes => SpecReader.Parse(bytes, specPath), ".json");
    }

    private static Target ConvertTarget(string root, string scratch)
    {
        var file = Path.Combine(scratch, "convert-input.pt");
        var opsDir = Path.Combine(root, "fixtures", "ops");
        var seeds = new List<byte[]>();
        var specs = new List<IReadOnlyList<InputSpec>>();
        foreach (var dir in Directory.EnumerateDirectories(opsDir).Order(StringComparer.Ordinal))
        {
            var model = Path.Combine(dir, "model.pt");
            var spec = Path.Combine(dir, "spec.json");
            if (!File.Exists(model) || !File.Exists(spec)) continue;
            seeds.Add(File.ReadAllBytes(model));
            specs.Add(ReadInputs(spec));
        }
        // The seed a mutant came from is unknown after splicing; pick the spec by the archive's size class
        // instead: try the spec of the seed with the same length, else the first seed's (a mismatch is MF1031, fine).
        var bySize = new Dictionary<int, IReadOnlyList<InputSpec>>();
        for (var i = 0; i < seeds.Count; i++) bySize.TryAdd(seeds[i].Length, specs[i]);
        return new Target("convert", true, seeds, Tokens(ScriptTokens, Encoding.UTF8), bytes =>
        {
            File.WriteAllBytes(file, bytes);
            var inputs = bySize.TryGetValue(bytes.Length, out var found) ? found : SpecFor(bytes, seeds, specs);
            using var result = ModelConverter.Convert(file, new ConvertOptions(inputs));
            _ = result.ToBytes().Length;
        }, ".pt");
    }

    /// <summary>The spec of the seed sharing the longest prefix with <paramref name="bytes"/> (mutants keep most of their seed).</summary>
    private static IReadOnlyList<InputSpec> SpecFor(byte[] bytes, List<byte[]> seeds, List<IReadOnlyList<InputSpec>> specs)
    {
        var best = 0;
        var bestLength = -1;
        for (var i = 0; i < seeds.Count; i++)
        {
            var common = bytes.AsSpan().CommonPrefixLength(seeds[i]);
            if (common > bestLength) (best, bestLength) = (i, common);
        }
        return specs[best];
    }

    /// <summary>The fixture's declared inputs, with "batch" kept symbolic.</summary>
    internal static IReadOnlyList<InputSpec> ReadInputs(string specPath)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(specPath));
        var inputs = new List<InputSpec>();
        foreach (var input in doc.RootElement.GetProperty("inputs").EnumerateArray())
        {
            var dims = input.GetProperty("dims").EnumerateArray()
                .Select(d => d.ValueKind == JsonValueKind.Number ? d.GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture) : d.GetString());
            inputs.Add(InputSpec.Parse($"{input.GetProperty("name").GetString()}:{input.GetProperty("dtype").GetString()}[{string.Join(",", dims)}]"));
        }
        return inputs;
    }
}
