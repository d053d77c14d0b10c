using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace ModelForge.Engine;

/// <summary>
/// TensorRT, CUDA and GPU facts for the manifest, read from the same shared libraries the TensorRT provider of the
/// ORT 1.31 package links (libnvinfer.so.10, libcudart.so.13; the driver's libcuda.so.1), so the manifest records
/// what the engine was actually built with. Every query returns null when its library or symbol is missing: a value
/// is reported or left null, never guessed.
/// </summary>
public static class NativeVersions
{
    private const string TensorRtLibrary = "libnvinfer.so.10";
    private const string CudaRuntimeLibrary = "libcudart.so.13";
    private const string CudaDriverLibrary = "libcuda.so.1";
    private const int ComputeCapabilityMajor = 75; // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR
    private const int ComputeCapabilityMinor = 76; // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR

    [DllImport(TensorRtLibrary)] private static extern int getInferLibVersion();
    [DllImport(CudaRuntimeLibrary)] private static extern int cudaRuntimeGetVersion(out int version);
    [DllImport(CudaDriverLibrary)] private static extern int cuInit(uint flags);
    [DllImport(CudaDriverLibrary)] private static extern int cuDeviceGet(out int device, int ordinal);
    [DllImport(CudaDriverLibrary)] private static extern int cuDeviceGetAttribute(out int value, int attribute, int device);
    [DllImport(CudaDriverLibrary)] private static extern int cuDeviceGetName(byte[] name, int length, int device);

    /// <summary>"10.9.0" from <c>getInferLibVersion()</c>; null without TensorRT.</summary>
    public static string? TensorRt() => Try(() => FormatTensorRt(getInferLibVersion()));

    /// <summary>"13.0" from <c>cudaRuntimeGetVersion</c>; null without the CUDA runtime.</summary>
    public static string? CudaRuntime() => Try(() => cudaRuntimeGetVersion(out var v) == 0 ? FormatCuda(v) : null);

    /// <summary>Name and compute capability of CUDA device <paramref name="ordinal"/>; null without a driver or GPU.</summary>
    public static GpuInfo? Gpu(int ordinal) => Try(() =>
    {
        if (cuInit(0) != 0 || cuDeviceGet(out var device, ordinal) != 0) return null;
        var name = new byte[256];
        if (cuDeviceGetName(name, name.Length, device) != 0 ||
            cuDeviceGetAttribute(out var major, ComputeCapabilityMajor, device) != 0 ||
            cuDeviceGetAttribute(out var minor, ComputeCapabilityMinor, device) != 0) return null;
        var length = Array.IndexOf(name, (byte)0);
        return new GpuInfo(Encoding.UTF8.GetString(name, 0, length < 0 ? name.Length : length),
            string.Create(CultureInfo.InvariantCulture, $"{major}.{minor}"));
    });

    /// <summary>TensorRT ≥ 10 encodes MAJOR*10000 + MINOR*100 + PATCH; 8.x used MAJOR*1000 + MINOR*100 + PATCH.</summary>
    public static string FormatTensorRt(int version) => version >= 100000
        ? string.Create(CultureInfo.InvariantCulture, $"{version / 10000}.{version / 100 % 100}.{version % 100}")
        : string.Create(CultureInfo.InvariantCulture, $"{version / 1000}.{version / 100 % 10}.{version % 100}");

    /// <summary>CUDA encodes MAJOR*1000 + MINOR*10: 13000 is "13.0", 12090 is "12.9".</summary>
    public static string FormatCuda(int version) =>
        string.Create(CultureInfo.InvariantCulture, $"{version / 1000}.{version % 1000 / 10}");

    private static T? Try<T>(Func<T?> query) where T : class
    {
        try { return query(); }
        catch (DllNotFoundException) { return null; }
        catch (EntryPointNotFoundException) { return null; }
    }
}
