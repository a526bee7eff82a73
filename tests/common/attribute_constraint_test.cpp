#include "common/attribute_constraint.hpp"

#include <capnp/message.h>
#include <gtest/gtest.h>

namespace agora {
namespace {

TEST(AttributeConstraintTest, ParsesEveryTextFormAndPrintsItBack) {
  struct Case {
    const char* text;
    ConstraintPredicate predicate;
    const char* attribute;
    const char* value;
  };
  for (const Case& c : {Case{"rack=r1", ConstraintPredicate::EQUALS, "rack", "r1"},
                        Case{"rack!=r1", ConstraintPredicate::NOT_EQUALS, "rack", "r1"},
                        Case{"zone~us-.*", ConstraintPredicate::MATCHES, "zone", "us-.*"},
                        Case{"zone!~a=b", ConstraintPredicate::NOT_MATCHES, "zone", "a=b"},
                        Case{"gpu", ConstraintPredicate::EXISTS, "gpu", ""},
                        Case{"!gpu", ConstraintPredicate::NOT_EXISTS, "gpu", ""},
                        Case{"os=", ConstraintPredicate::EQUALS, "os", ""}}) {
    auto parsed = parseAttributeConstraint(c.text);
    ASSERT_TRUE(parsed.has_value()) << c.text;
    EXPECT_EQ(parsed->predicate, c.predicate) << c.text;
    EXPECT_EQ(parsed->attribute, c.attribute) << c.text;
    EXPECT_EQ(parsed->value, c.value) << c.text;
    EXPECT_EQ(toString(*parsed), c.text);
  }
}

TEST(AttributeConstraintTest, RefusesEmptyNamesAndOversizedValues) {
  for (const char* bad : {"", "!", "=r1", "!=r1", "~x"}) {
    EXPECT_FALSE(parseAttributeConstraint(bad).has_value()) << bad;
  }
  std::string longValue = "rack=" + std::string(kMaxConstraintValueBytes + 1, 'x');
  EXPECT_FALSE(parseAttributeConstraint(longValue).has_value());
}

TEST(AttributeConstraintTest, WireRoundTripAndLimits) {
  capnp::MallocMessageBuilder message;
  auto list = message.initRoot<schema::FrameworkInfo>().initOfferConstraints(2);
  std::vector<AttributeConstraint> in = {*parseAttributeConstraint("rack=r1"),
                                         *parseAttributeConstraint("!gpu")};
  toCapnp(in, list);
  auto out = fromCapnp(list.asReader());
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(*out, in);

  capnp::MallocMessageBuilder many;
  auto tooMany = many.initRoot<schema::FrameworkInfo>().initOfferConstraints(
      static_cast<unsigned>(kMaxOfferConstraints + 1));
  for (auto c : tooMany) c.setAttribute("a");
  auto refused = fromCapnp(tooMany.asReader());
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().message.find("at most"), std::string::npos);
}

}  // namespace
}  // namespace agora
