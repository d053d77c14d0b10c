using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using ModelForge.Core.Diagnostics;
using ModelForge.Model;
using ModelForge.TorchScript.Module;
using ModelForge.Model.Tensors;
using TorchSharp;
using static TorchSharp.torch;

namespace ModelForge.Validate.Reference;

/// <summary>
/// The original TorchScript model run natively by libtorch (TorchSharp) in eval mode without autograd: the
/// reference every converted artifact is checked against. Outputs are flattened depth-first (tuples, lists, dict
/// values), the same order the converter names <c>output_0, output_1, …</c>.
/// </summary>
public sealed partial class TorchScriptReference : IDisposable
{
    private readonly jit.ScriptModule _module;

    /// <summary>libtorch's per-convolution warning on CPUs NNPACK does not support (it falls back by itself).</summary>
    private const string NnpackNoise = "Could not initialize NNPACK";

    public TorchScriptReference(string modelPath)
    {
        // libtorch's loader is not a sandbox: the archive goes through ModelForge's own reader and restricted
        // unpickler first, so a file with a forbidden pickle global (os.system, …), unsafe zip entries or
        // inconsistent tensors is refused with its MF diagnostic before libtorch reads a byte of it.
        string? substitutedCopy;
        using (var model = TorchScriptModel.Load(modelPath)) substitutedCopy = SubstituteForLibTorch(model);
        var loadPath = substitutedCopy ?? modelPath;
        try
        {
            using (var check = ReferenceLoadCheck.Start(loadPath, modelPath))
            {
                LibTorchRuntime.EnsureConfigured();
                check?.Wait();
            }
            try
            {
                using var quiet = NativeStderrFilter.Dropping(NnpackNoise);
                _module = jit.load(loadPath);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                throw new ModelForgeException(new Diagnostic(DiagnosticCode.ReferenceFailed,
                    $"libtorch cannot load '{modelPath}': {FirstLine(e.Message)}", new SourceLocation(modelPath),
                    "check that the file is a TorchScript archive saved with torch.jit.save"), e);
            }
        }
        finally
        {
            // libtorch has read everything it needs; the substituted copy is ModelForge's private file
            if (substitutedCopy is not null) File.Delete(substitutedCopy);
        }
        _module.eval();
    }

    /// <summary>
    /// The operator namespaces libtorch itself registers. An archive calling an operator of any other namespace
    /// (torchvision::nms, a user's C++ extension) needs that library's native code, which ModelForge does not load.
    /// </summary>
    private static readonly HashSet<string> LibTorchNamespaces = ["aten", "prim", "quantized", "_quantized", "prepacked", "profiler", "_caffe2"];

    /// <summary>
    /// A private copy of the archive whose torchvision calls go to ModelForge's substitutes
    /// (<see cref="TorchvisionSubstitutes"/>), for libtorch to load instead; null when the archive calls libtorch's own
    /// operators only. libtorch's loader ends the whole process (SIGABRT, no message) when the code calls an operator it
    /// does not have, so any other operator from outside libtorch is found in ModelForge's own reading of the code first
    /// and refused as MF3005.
    /// </summary>
    private static string? SubstituteForLibTorch(TorchScriptModel model)
    {
        var foreign = model.QualifiedOperatorCallSites().Where(c => !LibTorchNamespaces.Contains(c.Operator.Split("::")[0])).ToList();
        var missing = foreign.Where(c => !TorchvisionSubstitutes.Operators.Contains(c.Operator)).DistinctBy(c => c.Operator).ToList();
        if (missing.Count > 0)
            throw new ModelForgeException(missing.Select(m => new Diagnostic(DiagnosticCode.ReferenceOperatorMissing,
                $"the native reference cannot run this model: it calls {m.Operator}, which libtorch does not provide (it comes from the " +
                $"{m.Operator.Split("::")[0]} library's native code) and ModelForge has no substitute for, so the accuracy gate cannot compare it",
                model.Locate(m.Span),
                "ModelForge's libtorch has PyTorch's own operators (aten, prim, quantized) and aten versions of " +
                $"{string.Join(", ", TorchvisionSubstitutes.Operators.Order(StringComparer.Ordinal))}; other operators need their library's native " +
                "code, which ModelForge does not load, so this model cannot be validated against native outputs (with the op written in torch operators, it can)")).ToList());
        return foreign.Count == 0 ? null : TorchvisionSubstitutes.WriteSubstitutedCopy(model, foreign);
    }

    /// <summary>How the reference ran, for reports.</summary>
    public static string Description =>
        $"TorchScript on libtorch (TorchSharp {typeof(torch).Assembly.GetName().Version?.ToString(3)}), eval, no_grad, " +
        $"{LibTorchRuntime.Threads} thread, oneDNN ≤ {LibTorchRuntime.OneDnnIsaCap}";

    public IReadOnlyList<HostTensor> Run(IReadOnlyList<HostTensor> inputs)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        object result;
        try
        {
            using var quiet = NativeStderrFilter.Dropping(NnpackNoise);
            result = _module.forward(inputs.Select(i => (object)ToTorch(i)).ToArray());
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new ModelForgeException(new Diagnostic(DiagnosticCode.ReferenceFailed,
                $"the TorchScript model failed on inputs ({string.Join(", ", inputs)}): {ErrorSummary(e.Message)}", null,
                "check that --input declares the shapes and dtypes the model's forward expects"), e);
        }
        var outputs = new List<HostTensor>();
        Flatten(result, outputs);
        return outputs;
    }

    private static string FirstLine(string text) => text.Split('\n', 2)[0].Trim();

    /// <summary>
    /// libtorch's error in one line: for a failure inside the TorchScript interpreter, whose first line only says that one
    /// happened, the Python error it ends with (<c>RuntimeError: …</c>) and the innermost frame of the model's code.
    /// </summary>
    private static string ErrorSummary(string text)
    {
        var lines = text.Split('\n').Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
        var error = Array.FindLastIndex(lines, l => PythonError().IsMatch(l));
        if (!text.StartsWith("The following operation failed in the TorchScript interpreter", StringComparison.Ordinal) || error < 0)
            return FirstLine(text);
        var frame = lines.Take(error).LastOrDefault(l => l.StartsWith("File \"", StringComparison.Ordinal));
        return lines[error] + (frame is null ? "" : $" ({frame.TrimEnd(':')})");
    }

    [GeneratedRegex(@"^[A-Za-z_.]*(Error|Exception): ")]
    private static partial Regex PythonError();

    private static Tensor ToTorch(HostTensor tensor)
    {
        var result = empty(tensor.Shape, ScalarTypeOf(tensor.ElementType));
        result.bytes = tensor.Data;
        return result;
    }

    private static HostTensor FromTorch(Tensor tensor)
    {
        using var contiguous = tensor.detach().cpu().contiguous();
        return new HostTensor(DataTypeOf(contiguous.dtype), contiguous.shape, contiguous.bytes.ToArray());
    }

    private static void Flatten(object? value, List<HostTensor> outputs)
    {
        switch (value)
        {
            case Tensor t: outputs.Add(FromTorch(t)); break;
            case ITuple tuple: for (var i = 0; i < tuple.Length; i++) Flatten(tuple[i], outputs); break;
            case System.Collections.IDictionary dict: foreach (var item in dict.Values) Flatten(item, outputs); break;
            case System.Collections.IEnumerable items when value is not string: foreach (var item in items) Flatten(item, outputs); break;
            default:
                throw new ModelForgeException(DiagnosticCode.ReferenceFailed,
                    $"the TorchScript model returned {value?.GetType().Name ?? "None"}, which is not a tensor or a tuple/list/dict of tensors");
        }
    }

    private static ScalarType ScalarTypeOf(DataType type) => type switch
    {
        DataType.Float32 => ScalarType.Float32,
        DataType.Float64 => ScalarType.Float64,
        DataType.Float16 => ScalarType.Float16,
        DataType.BFloat16 => ScalarType.BFloat16,
        DataType.Int64 => ScalarType.Int64,
        DataType.Int32 => ScalarType.Int32,
        DataType.Int16 => ScalarType.Int16,
        DataType.Int8 => ScalarType.Int8,
        DataType.UInt8 => ScalarType.Byte,
        DataType.Bool => ScalarType.Bool,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "no libtorch scalar type"),
    };

    private static DataType DataTypeOf(ScalarType type) => type switch
    {
        ScalarType.Float32 => DataType.Float32,
        ScalarType.Float64 => DataType.Float64,
        ScalarType.Float16 => DataType.Float16,
        ScalarType.BFloat16 => DataType.BFloat16,
        ScalarType.Int64 => DataType.Int64,
        ScalarType.Int32 => DataType.Int32,
        ScalarType.Int16 => DataType.Int16,
        ScalarType.Int8 => DataType.Int8,
        ScalarType.Byte => DataType.UInt8,
        ScalarType.Bool => DataType.Bool,
        _ => throw new ModelForgeException(DiagnosticCode.ReferenceFailed, $"the TorchScript model returned a {type} tensor, which ModelForge cannot compare"),
    };

    public void Dispose() => _module.Dispose();
}
