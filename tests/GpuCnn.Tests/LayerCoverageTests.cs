using System.Reflection;
using GpuCnn.Layers;
using GpuCnn.Tests.Infrastructure;
using Xunit;

namespace GpuCnn.Tests;

/// <summary>
/// Every concrete layer type of the library has a double-precision reference and at least one gradient-check test,
/// so a new layer cannot land untested.
/// </summary>
public class LayerCoverageTests
{
    static IEnumerable<Type> LayerTypes() =>
        typeof(Layer).Assembly.GetTypes().Where(t => typeof(Layer).IsAssignableFrom(t) && !t.IsAbstract && t.IsPublic);

    static bool IsTest(MethodInfo m) => m.GetCustomAttributes().Any(a => a is FactAttribute); // Theory and the Skippable ones derive from it

    [Fact]
    public void Every_layer_type_has_a_double_reference()
    {
        var missing = LayerTypes().Where(t => !Reference.Covers(t)).Select(t => t.Name).ToList();
        Assert.True(missing.Count == 0, $"layers without a double reference (Reference.cs or [LayerReference]): {string.Join(", ", missing)}");
    }

    [Fact]
    public void Every_layer_type_has_a_gradient_check_test()
    {
        var checkedTypes = typeof(LayerCoverageTests).Assembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static))
            .Where(IsTest)
            .SelectMany(m => m.GetCustomAttributes<GradientCheckAttribute>().Select(a => a.LayerType))
            .ToHashSet();
        var missing = LayerTypes().Where(t => !checkedTypes.Contains(t)).Select(t => t.Name).ToList();
        Assert.True(missing.Count == 0, $"layers without a [GradientCheck] test: {string.Join(", ", missing)}");
    }

    [Fact]
    public void The_coverage_check_sees_the_library_layers()
    {
        var names = LayerTypes().Select(t => t.Name).ToHashSet();
        foreach (var n in new[] { "Conv2d", "Linear", "ReLU", "BatchNorm2d", "Dropout", "Concat", "Add", "Flatten" })
            Assert.Contains(n, names);
    }
}
