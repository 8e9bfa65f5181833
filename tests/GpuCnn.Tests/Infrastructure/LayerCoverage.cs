namespace GpuCnn.Tests.Infrastructure;

/// <summary>
/// Registers a layer's double-precision reference from the layer's own test file, so that adding a layer touches no
/// shared test file. The method must be static with the signature
/// <c>double[] F(Layer layer, double[][] inputs, Shape[] shapes, double[][] parameters, Reference.Mode mode)</c>
/// (shapes include the batch dimension, parameters come in the layer's order).
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class LayerReferenceAttribute(Type layerType) : Attribute
{
    /// <summary>The layer type the reference computes.</summary>
    public Type LayerType { get; } = layerType;
}

/// <summary>
/// Marks a test that runs <see cref="GradCheck"/> on a layer type; <c>LayerCoverageTests</c> fails for a layer type
/// that no such test names.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = true)]
public sealed class GradientCheckAttribute(Type layerType) : Attribute
{
    /// <summary>The layer type whose backward the test checks.</summary>
    public Type LayerType { get; } = layerType;
}
