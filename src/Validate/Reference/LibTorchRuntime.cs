using System.Runtime.InteropServices;
using TorchSharp;

namespace ModelForge.Validate.Reference;

/// <summary>
/// One-time process setup for running TorchScript natively with libtorch (TorchSharp), so reference outputs are
/// right and repeatable on any CPU.
/// </summary>
/// <remarks>
/// <para>libtorch 2.10 ships oneDNN 3.7.1, whose JIT convolution kernels give wrong results for some batched shapes
/// on this project's AMD EPYC hosts: with the default (AVX-512) kernels the alexnet/googlenet/inception fixtures at
/// batch 2 differ by up to ~5 from the same samples run one at a time, and capping at AVX2 breaks squeezenet instead.
/// With the cap at SSE4.1 every fixture's batched result matches its per-sample results and PyTorch 1.13's saved
/// outputs. oneDNN reads <c>ONEDNN_MAX_CPU_ISA</c> from the native environment when it creates its first primitive;
/// .NET's <see cref="Environment.SetEnvironmentVariable(string, string)"/> does not reach the native environment on
/// Unix, so it is set through libc before libtorch runs anything. A value the user set is kept. The reference runs
/// slower for it; it exists to be right.</para>
/// <para>The intra-op pool is pinned to <see cref="Threads"/> thread: libtorch splits reductions by thread count,
/// so this makes repeated runs bit-identical on machines with different core counts.</para>
/// </remarks>
public static class LibTorchRuntime
{
    public const int Threads = 1;
    public const string OneDnnIsaVariable = "ONEDNN_MAX_CPU_ISA";
    public const string OneDnnIsaCap = "SSE41";

    private static readonly Lazy<bool> Configured = new(() =>
    {
        if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS())
            _ = setenv(OneDnnIsaVariable, OneDnnIsaCap, overwrite: 0);
        torch.set_num_threads(Threads);
        return true;
    });

    /// <summary>Applies the setup (idempotent). Throws TypeInitializationException when libtorch cannot load.</summary>
    public static void EnsureConfigured() => _ = Configured.Value;

    [DllImport("libc", SetLastError = true)]
    private static extern int setenv(string name, string value, int overwrite);
}
